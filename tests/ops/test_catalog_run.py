"""`catalog run` as an operator sees it: kill -9 the indexer, an API worker, the dashboard or a background worker
while products are written through the API; each comes back by itself, the API never refuses a connection, nothing
is lost.

The catalog runs as a real `catalog run` process on free ports, against the shared stack (unmanaged) with a
database and index alias of its own, so nothing else in the session is disturbed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalog.run import state_file
from catalog.settings import PROJECT_ROOT, Settings
from stack.processes import pid_alive, stop_child
from tests.helpers.factories import product_payload
from tests.helpers.services import free_port, service_env

BIN = Path(sys.executable).parent


@dataclass
class RunningCatalog:
    process: subprocess.Popen[str]
    settings: Settings
    env: dict[str, str]
    api: str
    dashboard: str
    log: Path
    token: str

    def state(self) -> dict[str, dict[str, Any]]:
        snapshot = json.loads(state_file(self.settings).read_text())
        return {p["name"]: p for p in snapshot["programs"]}

    def catalog(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "catalog"), *args], env=self.env, cwd=PROJECT_ROOT, capture_output=True,
                              text=True, timeout=300, check=False)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str, catalog: RunningCatalog) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if catalog.process.poll() is not None:
            pytest.fail(f"`catalog run` exited ({catalog.process.returncode}) waiting for {what}:\n"
                        f"{catalog.log_tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}:\n{catalog.log_tail()}")
        time.sleep(0.1)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def running_catalog(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCatalog]:
    from api.auth.security import issue_token
    from stack.postgres_server import drop_database, ensure_database

    run_id = uuid.uuid4().hex[:8]
    settings = stack.model_copy(update={
        "postgres_db": f"catalog_run_{run_id}", "index_alias": f"run_{run_id}_products",
        "stack_dir": tmp_path_factory.mktemp("catalog-run"), "api_port": free_port(),
        "dashboard_port": free_port(), "stack_managed": False,
    })
    ensure_database(settings, settings.postgres_db)
    env = {**service_env(settings), "CATALOG_API_PORT": str(settings.api_port),
           "CATALOG_DASHBOARD_PORT": str(settings.dashboard_port), "CATALOG_API_WORKERS": "2"}
    log = settings.stack_dir / "catalog-run.log"
    with log.open("w") as out:
        process = subprocess.Popen([str(BIN / "catalog"), "run", "--demo-products", "0"], cwd=PROJECT_ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, text=True)
    catalog = RunningCatalog(process, settings, env, f"http://127.0.0.1:{settings.api_port}",
                             f"http://127.0.0.1:{settings.dashboard_port}", log,
                             issue_token(settings, uuid.uuid4(), ["admin"]))
    try:
        wait_until(lambda: answers(catalog.api + "/health"), 120, "the API", catalog)
        wait_until(lambda: answers(catalog.dashboard + "/_stcore/health"), 120, "the dashboard", catalog)
        wait_until(lambda: all(p["state"] == "running" for p in catalog.state().values()), 30, "every process",
                   catalog)
        yield catalog
    finally:
        stop_child(process, 60)
        drop_database(settings, settings.postgres_db)
        httpx.delete(f"{settings.opensearch_url}/{settings.index_alias}_v*", timeout=30)


@dataclass
class Writer:
    """POSTs products from a thread. A request cut off by a killed worker is sent again (a 409 then means the
    first one was written); a refused connection is recorded: it must never happen."""

    catalog: RunningCatalog
    written: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    cut_off: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.catalog.token}"}
        with httpx.Client(base_url=self.catalog.api, headers=headers, timeout=15) as client:
            while not self.stop.is_set():
                payload = product_payload()
                for _attempt in range(5):
                    try:
                        response = client.post("/products", json=payload)
                    except httpx.ConnectError as exc:
                        self.refused.append(repr(exc))
                        time.sleep(0.2)
                        continue
                    except httpx.TransportError:
                        self.cut_off += 1
                        continue
                    assert response.status_code in (201, 409), response.text
                    self.written.append(payload["sku"])
                    break
                time.sleep(0.01)


def kill_9_and_wait_for_restart(catalog: RunningCatalog, name: str, writer: Writer) -> None:
    before = catalog.state()[name]
    assert before["state"] == "running" and before["pid"]
    written_before = len(writer.written)
    os.kill(before["pid"], signal.SIGKILL)

    def restarted() -> bool:
        now = catalog.state()[name]
        return now["state"] == "running" and now["pid"] not in (None, before["pid"])

    wait_until(restarted, 30, f"{name} to be restarted", catalog)
    after = catalog.state()[name]
    assert after["restarts"] == before["restarts"] + 1 and after["last_exit_code"] == -signal.SIGKILL
    wait_until(lambda: len(writer.written) > written_before + 5, 30, f"writes to go on after killing {name}",
               catalog)


def test_kill_9_of_any_process_is_survived_with_no_lost_write(running_catalog: RunningCatalog) -> None:
    catalog = running_catalog
    writer = Writer(catalog)
    thread = threading.Thread(target=writer.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(writer.written) >= 10, 30, "the first writes", catalog)
        for name in ("indexer", "api-1", "dashboard", "media", "webhooks", "api-2"):
            kill_9_and_wait_for_restart(catalog, name, writer)
        wait_until(lambda: answers(catalog.dashboard + "/_stcore/health"), 60, "the dashboard to answer", catalog)
    finally:
        writer.stop.set()
        thread.join(30)
    assert writer.refused == [], "the API refused connections while a worker was restarted"
    assert len(writer.written) > 40

    # Every write becomes searchable and the index matches the database exactly.
    def indexed() -> bool:
        found = httpx.post(f"{catalog.settings.opensearch_url}/{catalog.settings.index_alias}/_count",
                           json={"query": {"terms": {"sku": writer.written}}}, timeout=10).json()
        return found.get("count") == len(set(writer.written))

    wait_until(indexed, 60, "every written product to be searchable", catalog)
    verify = catalog.catalog("verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr

    status = catalog.catalog("status")
    assert status.returncode == 0, status.stderr
    for name in ("api-1", "api-2", "indexer", "dashboard"):
        assert name in status.stdout

    # /metrics answered by either worker counts the requests of both.
    totals = set()
    for _ in range(6):
        body = httpx.get(catalog.api + "/metrics", timeout=5).text
        totals.add(sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                       if line.startswith('catalog_http_requests_total{method="POST",route_group="products"')))
    assert min(totals) >= len(writer.written)


def test_sigterm_stops_the_whole_catalog_cleanly(running_catalog: RunningCatalog) -> None:
    catalog = running_catalog
    pids = [p["pid"] for p in catalog.state().values() if p["pid"]]
    catalog.process.send_signal(signal.SIGTERM)
    assert catalog.process.wait(60) == 0, catalog.log_tail()
    assert not [pid for pid in pids if pid_alive(pid)]
    assert not answers(catalog.api + "/health")
    log = catalog.log_tail()
    assert "api-1 stopped" in log and "indexer stopped" in log and "dashboard stopped" in log
