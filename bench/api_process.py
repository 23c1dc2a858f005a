"""The API as a separate uvicorn process on a free loopback port, for the benchmarks that load it over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx

from catalog.api_worker import uvicorn_command


def free_port() -> int:
    """A port nobody listens on right now (a fixed one may be someone else's server on a shared machine)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_api(port: int, log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`uvicorn api.app` on 127.0.0.1:`port` with rate limits off (`env` defaults to this process's)."""
    env = {**(os.environ if env is None else env), "CATALOG_RATE_LIMIT_PER_MINUTE": "0"}
    command = uvicorn_command("127.0.0.1", port, "--log-level", "warning")
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit(f"the API did not come up; see {log_path}")
