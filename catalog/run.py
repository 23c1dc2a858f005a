"""The processes of `catalog run` / `make run` (API workers, indexer, dashboard, workers) and their supervisor.

Getting ready before they start (stack up, migrate, demo data when empty, index) is the `run` command's
(`catalog/cli/run.py`). The processes run in the foreground under `catalog.supervisor`: one that crashes is
restarted with backoff while the others keep serving, Ctrl-C (or SIGTERM) stops them all in order. The API is
one worker process per core (`CATALOG_API_WORKERS`) sharing one listening socket that this process binds, so a
worker being restarted never refuses a connection. `catalog status` shows each process, its restarts and its
last exit code.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from catalog.settings import PROJECT_ROOT, Settings
from catalog.supervisor import Program, Supervisor
from dashboard.serve import streamlit_command

BIN = Path(sys.executable).parent


def state_file(settings: Settings) -> Path:
    """What the supervisor serving this API port writes for `catalog status` (one per port: benches run two)."""
    return settings.stack_dir / "run" / f"catalog-{settings.api_port}.json"


def metrics_dir(settings: Settings) -> Path:
    """prometheus-client's multiprocess files: every API worker writes its own, /metrics sums them."""
    return settings.stack_dir / "run" / f"api-metrics-{settings.api_port}"


def listen(settings: Settings) -> socket.socket:
    """The API's listening socket, bound once here and inherited by every worker."""
    try:
        listener = socket.create_server((settings.api_host, settings.api_port), backlog=2048)
    except OSError as exc:
        raise SystemExit(
            f"cannot listen on {settings.api_host}:{settings.api_port} ({exc.strerror}); stop what uses it "
            "or set CATALOG_API_PORT to a free port."
        ) from exc
    listener.set_inheritable(True)
    return listener


def api_programs(settings: Settings, listener: socket.socket, workers: int) -> list[Program]:
    fd = listener.fileno()
    url = f"http://{settings.api_host}:{settings.api_port}  (docs: /schema)"
    return [
        Program(
            f"api-{n}",
            [sys.executable, "-m", "catalog.api_worker", "--fd", str(fd)],
            description=url if n == 1 else "",
            env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir(settings))},
            pass_fds=(fd,),
        )
        for n in range(1, workers + 1)
    ]


def indexer_program() -> Program:
    return Program("indexer", [str(BIN / "catalog"), "indexer", "run"], "streams the outbox into OpenSearch")


def media_worker_program() -> Program:
    return Program("media", [str(BIN / "catalog"), "media", "worker"], "makes the thumbnails of uploaded images")


def webhooks_program() -> Program:
    return Program("webhooks", [str(BIN / "catalog"), "webhooks", "worker"], "delivers signed webhooks, runs imports")


def dashboard_program(settings: Settings) -> Program:
    command = streamlit_command(settings.dashboard_port, settings.api_host)
    return Program("dashboard", command, f"http://{settings.api_host}:{settings.dashboard_port}")


def supervise(settings: Settings, say: Callable[[str], None], *, only_api: bool = False) -> int:
    """Run the API workers (and, unless `only_api`, the indexer and the dashboard) until Ctrl-C/SIGTERM."""
    shutil.rmtree(metrics_dir(settings), ignore_errors=True)
    metrics_dir(settings).mkdir(parents=True)
    with listen(settings) as listener:
        programs = api_programs(settings, listener, settings.api_workers)
        if not only_api:
            # Stopped in this order: the dashboard first, then the API, the indexer last so it finishes its batch.
            programs = [
                dashboard_program(settings), *programs, webhooks_program(), media_worker_program(), indexer_program()
            ]
        supervisor = Supervisor(
            programs,
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            state_file=state_file(settings),
            say=say,
        )
        say(f"catalog starting {len(programs)} processes; press Ctrl-C to stop. `catalog status` shows them.")
        return supervisor.run()
