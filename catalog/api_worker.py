"""One API worker process: uvicorn serving `api.app:create_app` on a listening socket it inherited.

    python -m catalog.api_worker --fd 3

`catalog run` / `catalog api` bind the API's port once and start one of these per core under the supervisor,
each with the same socket: the kernel hands every connection to one idle worker, and while a crashed worker
is being restarted the others keep accepting on the same socket (no connection is ever refused). Each worker
is a plain single-process uvicorn, so the supervisor restarts, backs off and counts them one by one.

`APP` and `uvicorn_command` say once what uvicorn serves and how: `catalog api --reload` runs the same app, and the
benchmarks start the API as one plain uvicorn process with `uvicorn_command`.
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Final

import uvicorn

APP: Final = "api.app:create_app"
"""What uvicorn serves: the app factory (`--factory`, `factory=True`)."""


def uvicorn_command(host: str, port: int, *extra: str) -> list[str]:
    """The command line of the API as one plain uvicorn process on host:port (no access log: the app logs one JSON
    line per request itself); `extra`: more uvicorn options, e.g. `--log-level warning`."""
    return [sys.executable, "-m", "uvicorn", APP, "--factory", "--host", host, "--port", str(port), "--no-access-log",
            *extra]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m catalog.api_worker", description=__doc__.splitlines()[0])
    parser.add_argument("--fd", type=int, required=True, help="file descriptor of the bound, listening socket")
    parser.add_argument("--graceful-shutdown", type=float, default=10.0, help="seconds to finish open requests")
    args = parser.parse_args(argv)
    listener = socket.socket(fileno=args.fd)  # family and type read from the descriptor (AF_INET, stream)
    config = uvicorn.Config(
        APP,
        factory=True,
        access_log=False,  # the app logs one JSON line per request itself
        timeout_graceful_shutdown=int(args.graceful_shutdown),
    )
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":
    main()
