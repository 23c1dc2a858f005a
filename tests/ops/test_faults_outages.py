"""Faults survived: PostgreSQL, Redis and OpenSearch going down and coming back under load, and a search before
the first index exists.

Every service that is stopped here is an isolated instance this module starts on free ports under a scratch
directory (and stops in teardown); the shared stack other sessions use is never touched. The API under fault
runs as a real uvicorn subprocess pointed at those instances through `CATALOG_*` variables
(tests/helpers/services.py).
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from catalog.settings import Settings
from tests.helpers.api import assert_error
from tests.helpers.factories import product_payload
from tests.helpers.services import (
    ApiProcess,
    api_process,
    free_port,
    indexer_process,
    isolated_postgres,
    isolated_redis,
    service_env,
    start_opensearch,
    wait_for_fresh_window,
    wait_until,
)

# --- (1) PostgreSQL restart under write load --------------------------------------------------------------------


@dataclass
class WriteLoad:
    """POSTs products in a loop from a thread; remembers every acknowledged id and every other answer."""

    api: ApiProcess
    acknowledged: list[int] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    errors_503: list[dict[str, Any]] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with self.api.client(timeout=15) as client:
            while not self.stop.is_set():
                try:
                    response = client.post("/products", json=product_payload())
                except httpx.HTTPError as exc:
                    self.transport_errors.append(repr(exc))
                    continue
                self.statuses.append(response.status_code)
                if response.status_code == 201:
                    self.acknowledged.append(int(response.json()["id"]))
                elif response.status_code == 503:
                    self.errors_503.append(response.json())
                time.sleep(0.01)


def test_postgres_restart_under_write_load_answers_503_then_recovers_without_losing_writes(
    stack: Settings, tmp_path: Path
) -> None:
    from stack import postgres_server

    with isolated_postgres(stack) as pg, api_process(pg, tmp_path) as api:
        load = WriteLoad(api)
        writer = threading.Thread(target=load.run, name="writer")
        writer.start()
        try:
            wait_until(lambda: len(load.acknowledged) >= 20, 30, "writes before the outage", api)
            postgres_server.stop(pg)
            before_outage = len(load.statuses)
            wait_until(lambda: len(load.errors_503) >= 5, 30, "503s while PostgreSQL is down", api)
            postgres_server.start(pg, say=lambda _: None)  # type: ignore[arg-type]
            recovered_at = len(load.acknowledged)
            wait_until(lambda: len(load.acknowledged) >= recovered_at + 20, 30, "writes after the restart", api)
        finally:
            load.stop.set()
            writer.join(30)
        during = load.statuses[before_outage:]
        assert 500 not in load.statuses, api.log_tail()
        assert set(during) <= {201, 503}, during
        assert not load.transport_errors, load.transport_errors[:3]  # answered, never hung or dropped
        assert all(body["code"] == "DATABASE_UNAVAILABLE" and set(body) == {"code", "message", "details"}
                   for body in load.errors_503)
        with psycopg.connect(pg.postgres_dsn) as conn:
            stored = {row[0] for row in conn.execute("SELECT id FROM products WHERE id = ANY(%s)",
                                                     (load.acknowledged,))}
        assert stored == set(load.acknowledged)  # every 201 survived the restart


# --- (3) Redis down ---------------------------------------------------------------------------------------------


def test_redis_down_the_api_keeps_answering_and_limits_fail_open(stack: Settings, database: str, search_index: str,
                                                                tmp_path: Path) -> None:
    with isolated_redis(stack) as redis_settings:
        from stack import redis_server

        limited = redis_settings.model_copy(update={"rate_limit_per_minute": 3})
        with api_process(limited, tmp_path) as api, api.client() as client:
            wait_for_fresh_window()
            answers = [client.get("/categories").status_code for _ in range(4)]
            assert answers[-1] == 429, answers  # Redis is up: the limit is enforced
            redis_server.stop(redis_settings)
            down = [client.get("/categories") for _ in range(8)]
            assert [r.status_code for r in down] == [200] * 8  # documented: limits fail open
            assert client.post("/products", json=product_payload()).status_code == 201
            if _has_route(client, "/search"):
                for _ in range(2):  # the response cache lives in Redis: both are answered uncached
                    searched = client.get("/search", params={"q": "kettle"})
                    assert searched.status_code == 200, searched.text
            redis_server.start(redis_settings, say=lambda _: None)  # type: ignore[arg-type]
            wait_for_fresh_window()
            wait_until(lambda: client.get("/categories").status_code == 429, 30, "limits to apply again", api)


def _has_route(client: httpx.Client, path: str) -> bool:
    return path in client.get("/schema/openapi.json").json()["paths"]


# --- (2) OpenSearch down and back -------------------------------------------------------------------------------


def _pending_in(settings: Settings) -> int:
    with psycopg.connect(settings.postgres_dsn) as conn:
        found = conn.execute("SELECT count(*) FROM outbox WHERE processed_at IS NULL").fetchone()
    return int(found[0]) if found else -1


def test_opensearch_down_and_back_writes_succeed_and_the_indexer_catches_up(stack: Settings, tmp_path: Path) -> None:
    from indexer.verify import verify
    from stack import opensearch_node

    with isolated_postgres(stack) as pg:
        iso = pg.model_copy(update={"opensearch_port": free_port(), "opensearch_transport_port": free_port(),
                                    "opensearch_heap": "512m"})
        start_opensearch(iso, stack.stack_dir)
        log = tmp_path / "indexer.log"
        indexer = indexer_process(log, service_env(iso))
        try:
            with api_process(iso, tmp_path) as api, api.client() as client:
                before = [client.post("/products", json=product_payload()) for _ in range(20)]
                assert [r.status_code for r in before] == [201] * 20
                wait_until(lambda: _pending_in(iso) == 0, 60, "the first writes to be indexed", api)
                opensearch_node.stop(iso.stack_dir)
                during = [client.post("/products", json=product_payload()) for _ in range(30)]
                assert [r.status_code for r in during] == [201] * 30  # PostgreSQL is the source of truth
                edited = client.patch(f"/products/{before[0].json()['id']}", json={"name": "Renamed while down"})
                assert edited.status_code == 200
                assert _pending_in(iso) > 0
                searched = client.get("/search", params={"q": "kettle"}, headers={"Cache-Control": "no-cache"})
                assert_error(searched, 503, "SEARCH_UNAVAILABLE")  # an answer in our format, not a 500
                assert indexer.poll() is None, log.read_text()[-2000:]  # waits for OpenSearch, does not die
                start_opensearch(iso, stack.stack_dir)
                wait_until(lambda: _pending_in(iso) == 0, 120, "the indexer to catch up", api)
            indexer.send_signal(signal.SIGTERM)
            assert indexer.wait(30) == 0, log.read_text()[-2000:]
            report = verify(iso)
            assert (report.drift, report.pending, report.postgres_count) == (0, 0, 50), report
        finally:
            if indexer.poll() is None:
                indexer.kill()
                indexer.wait(10)
            opensearch_node.stop(iso.stack_dir)


async def test_search_without_an_index_answers_503_not_500(stack: Settings, database: str) -> None:
    """A fresh deployment before the first `catalog reindex` (found by the fuzz run: it answered 500)."""
    from litestar.testing import AsyncTestClient

    from api.app import create_app

    missing = stack.model_copy(update={"index_alias": f"missing_{uuid.uuid4().hex[:8]}"})
    async with AsyncTestClient(app=create_app(missing)) as client:
        for path in ("/search", "/search/suggest"):
            response = await client.get(path, params={"q": "kettle"})
            assert_error(response, 503, "SEARCH_UNAVAILABLE")
