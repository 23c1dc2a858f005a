"""`catalog run` / `make run`: stack up, migrate, demo data when empty, then API + indexer + dashboard.

The three processes run in the foreground under one supervisor: Ctrl-C (or SIGTERM) stops them all
cleanly, and if one of them dies the others are stopped too, so a half-running catalog never lingers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from catalog.settings import PROJECT_ROOT, Settings

BIN = Path(sys.executable).parent


@dataclass
class Service:
    name: str
    command: list[str]
    url: str
    process: subprocess.Popen[bytes] | None = None


def services(settings: Settings) -> list[Service]:
    return [
        Service(
            "api",
            [
                str(BIN / "uvicorn"),
                "api.app:create_app",
                "--factory",
                "--host",
                settings.api_host,
                "--port",
                str(settings.api_port),
                "--workers",
                str(settings.api_workers),
                "--no-access-log",
                "--timeout-graceful-shutdown",
                "10",
            ],
            f"http://{settings.api_host}:{settings.api_port}  (docs: /schema)",
        ),
        Service("indexer", [str(BIN / "catalog"), "indexer", "run"], "streams the outbox into OpenSearch"),
        Service(
            "dashboard",
            [
                str(BIN / "streamlit"),
                "run",
                str(PROJECT_ROOT / "dashboard" / "app.py"),
                "--server.port",
                str(settings.dashboard_port),
                "--server.address",
                settings.api_host,
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
            ],
            f"http://{settings.api_host}:{settings.dashboard_port}",
        ),
    ]


def prepare(settings: Settings, demo_products: int, say: Callable[[str], None]) -> None:
    """Everything before the processes start: services, schema, index, demo catalog."""
    from db.cli_seed import seed_with_progress
    from db.migrate import upgrade
    from indexer.cli import reindex
    from indexer.client import make_client
    from indexer.mapping import ensure_index
    from stack import manager

    manager.up(settings, say=say)
    say("database: applying migrations ...")
    upgrade(settings.database_url)
    client = make_client(settings)
    index = ensure_index(client, settings)
    if demo_products > 0 and not seed_with_progress(demo_products, only_if_empty=True):
        say("demo catalog: the database already has products; left as it is.")
    if client.count(index=index)["count"] == 0 and _has_products(settings):
        say(f"search index {index} is empty but the database is not: rebuilding it ...")
        reindex()  # the command's own progress bar


def _has_products(settings: Settings) -> bool:
    import psycopg

    with psycopg.connect(settings.postgres_dsn) as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM products)").fetchone() == (True,)


def supervise(settings: Settings, say: Callable[[str], None]) -> int:
    running = services(settings)
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for service in running:
        service.process = subprocess.Popen(service.command, cwd=PROJECT_ROOT, env=env, start_new_session=True)
        say(f"{service.name:<10} {service.url}")
    say("catalog running; press Ctrl-C to stop.")
    exit_code = 0
    while not stopping:
        for service in running:
            assert service.process is not None
            if service.process.poll() is not None:
                say(f"{service.name} exited with code {service.process.returncode}; stopping the others.")
                exit_code = service.process.returncode or 1
                stopping = True
        time.sleep(0.5)
    _stop_all(running, say)
    return exit_code


def _stop_all(running: list[Service], say: Callable[[str], None]) -> None:
    for service in running:
        if service.process and service.process.poll() is None:
            os.killpg(service.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for service in running:
        if service.process is None:
            continue
        try:
            service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()
        say(f"{service.name} stopped")
