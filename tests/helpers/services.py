"""Services of a test's own: free ports, scratch stack dirs, an isolated Redis / PostgreSQL / OpenSearch node, the
environment that points a `catalog` subprocess at them, and the API served by uvicorn in its own process.

The shared stack other sessions use is never stopped; what is started here is stopped by whoever started it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalog.settings import PROJECT_ROOT, Settings
from stack.processes import stop_child

BIN = Path(sys.executable).parent


# --- isolated services ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scratch_dir(prefix: str) -> Path:
    """A private (0700) scratch stack dir, as `mktemp -d` makes them: PostgreSQL must cope."""
    return Path(tempfile.mkdtemp(prefix=f"catalog-{prefix}-"))


def isolated(base: Settings, stack_dir: Path, **overrides: Any) -> Settings:
    """`base` with its own stack dir and free ports for every service, plus `overrides`."""
    ports = {"postgres_port": free_port(), "redis_port": free_port(), "opensearch_port": free_port(),
             "opensearch_transport_port": free_port()}
    return base.model_copy(update={"stack_dir": stack_dir, "opensearch_heap": "512m", **ports, **overrides})


@contextlib.contextmanager
def isolated_redis(base: Settings) -> Iterator[Settings]:
    """A Redis of our own; `base` is returned with redis_port pointing at it."""
    from stack import redis_server

    stack_dir = scratch_dir("redis")
    settings = base.model_copy(update={"stack_dir": stack_dir, "redis_port": free_port()})
    redis_server.start(settings, say=lambda _: None)  # type: ignore[arg-type]
    try:
        yield settings
    finally:
        redis_server.stop(settings)
        shutil.rmtree(stack_dir, ignore_errors=True)


@contextlib.contextmanager
def isolated_postgres(base: Settings) -> Iterator[Settings]:
    """A PostgreSQL cluster of our own with the catalog database migrated; `base` re-pointed at it."""
    from db.migrate import upgrade
    from stack import postgres_server

    stack_dir = scratch_dir("postgres")
    settings = base.model_copy(update={"stack_dir": stack_dir, "postgres_port": free_port()})
    postgres_server.start(settings, say=lambda _: None)  # type: ignore[arg-type]
    try:
        postgres_server.ensure_database(settings, settings.postgres_db)
        upgrade(settings.database_url)
        yield settings
    finally:
        postgres_server.delete_cluster(settings)
        shutil.rmtree(stack_dir, ignore_errors=True)


def start_opensearch(settings: Settings, shared_stack_dir: Path) -> None:
    """Start a node under `settings.stack_dir`, reusing the jars the shared stack already built."""
    from stack import opensearch_node

    lib_dir = shared_stack_dir / "opensearch" / "lib"
    pid = opensearch_node.start(settings.stack_dir, settings.opensearch_port, settings.opensearch_transport_port,
                                settings.opensearch_heap, lib_dir)
    opensearch_node.wait_healthy(settings.opensearch_port, 120, pid, opensearch_node.log_file(settings.stack_dir))


def service_env(settings: Settings) -> dict[str, str]:
    """The environment that points a `catalog` subprocess at the services in `settings`."""
    return {
        **os.environ,
        "CATALOG_POSTGRES_PORT": str(settings.postgres_port),
        "CATALOG_POSTGRES_DB": settings.postgres_db,
        "CATALOG_REDIS_PORT": str(settings.redis_port),
        "CATALOG_OPENSEARCH_PORT": str(settings.opensearch_port),
        "CATALOG_INDEX_ALIAS": settings.index_alias,
        "CATALOG_STACK_DIR": str(settings.stack_dir),
        "CATALOG_STACK_MANAGED": "false",
        "CATALOG_RATE_LIMIT_PER_MINUTE": str(settings.rate_limit_per_minute),
        "CATALOG_AUTH_RATE_LIMIT_PER_MINUTE": str(settings.auth_rate_limit_per_minute),
    }


# --- an API served by uvicorn in its own process ----------------------------------------------------------------


@dataclass
class ApiProcess:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    token: str

    def client(self, timeout: float = 10.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout, headers={"Authorization": f"Bearer {self.token}"})

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@contextlib.contextmanager
def api_process(settings: Settings, log_dir: Path, *extra_args: str) -> Iterator[ApiProcess]:
    """uvicorn serving `create_app` against `settings`' services on a free port; terminated on exit."""
    from api.auth.security import issue_token
    from catalog.api_worker import uvicorn_command

    port = free_port()
    log = log_dir / f"api-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            uvicorn_command("127.0.0.1", port, *extra_args),
            cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, env=service_env(settings),
        )
    api = ApiProcess(process, f"http://127.0.0.1:{port}", log, issue_token(settings, uuid.uuid4(), ["admin"]))
    try:
        wait_until(lambda: _answers(api), 60, "the API to start", api)
        yield api
    finally:
        stop_child(process, 20)


def _answers(api: ApiProcess) -> bool:
    try:
        return httpx.get(api.url + "/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition: Callable[[], bool], timeout: float, what: str, api: ApiProcess | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if api is not None and api.process.poll() is not None:
            pytest.fail(f"the API exited ({api.process.returncode}) waiting for {what}:\n{api.log_tail()}")
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.1)


def wait_for_fresh_window(margin: float = 8.0) -> None:
    """Rate limits use one-minute windows: start a burst early enough in one that it cannot straddle two."""
    into = time.time() % 60
    if into > 60 - margin:
        time.sleep(60 - into + 0.1)


def indexer_process(log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`catalog indexer run --batch-size 50` as its own process (the session's services unless `env` says otherwise),
    its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "catalog.cli", "indexer", "run", "--batch-size", "50"],
                                cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, env=env or os.environ.copy())
