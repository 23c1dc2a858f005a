"""Faults survived: the indexer killed with -9 at random points, and graceful shutdown (SIGTERM) of uvicorn
with a request in flight and of the indexer mid-backlog.

The processes run against the session's services (the API as a real uvicorn subprocess, the indexer as
`catalog indexer run`); nothing of the shared stack is stopped.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

from catalog.settings import Settings
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.factories import product_payload
from tests.helpers.services import (
    api_process,
    indexer_process,
    wait_until,
)

# --- (4) kill -9 of the indexer at random points, repeatedly ----------------------------------------------------

KILLS = 10


def _pending(rows: CatalogRows) -> int:
    return int(rows.scalar("SELECT count(*) FROM outbox WHERE processed_at IS NULL"))


def test_kill_9_of_the_indexer_at_random_points_ten_times_leaves_zero_drift(
    catalog_rows: CatalogRows, search_index: str, settings: Settings, unique: str, tmp_path: Path
) -> None:
    from indexer.verify import verify

    rng = random.Random(20_24)
    log = tmp_path / "indexer.log"
    written: list[int] = []
    for round_ in range(KILLS):
        written += [catalog_rows.product(sku=f"K9-{unique}-{round_}-{n}") for n in range(150)]
        for product_id in rng.sample(written, 40):
            catalog_rows.update(product_id, description=f"edit {round_}")
        indexer = indexer_process(log)
        time.sleep(rng.uniform(0.5, 4.0))  # a random point: starting up, mid-batch, or idle
        indexer.send_signal(signal.SIGKILL)
        assert indexer.wait(10) == -signal.SIGKILL
    survivor = indexer_process(log)
    try:
        wait_until(lambda: _pending(catalog_rows) == 0, 120, "the backlog to drain")
    finally:
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(30) == 0, log.read_text()[-2000:]
    report = verify(settings)
    assert (report.drift, report.pending) == (0, 0), report
    found = catalog_rows.scalar("SELECT count(*) FROM products WHERE id = ANY(%s)", (written,))
    assert found == len(written)  # no write lost


# --- graceful shutdown ------------------------------------------------------------------------------------------

BULK_ITEMS = 2000


def test_sigterm_lets_the_in_flight_request_finish_then_uvicorn_exits_cleanly(settings: Settings, database: str,
                                                                          tmp_path: Path, unique: str) -> None:
    items = [product_payload(sku=f"TERM-{unique}-{n}") for n in range(BULK_ITEMS)]
    outcome: dict[str, Any] = {}

    with api_process(settings, tmp_path) as api:
        def send_bulk() -> None:
            with api.client(timeout=120) as client:
                outcome["response"] = client.post("/products/bulk", json=items)
                outcome["answered_after_sigterm"] = "sigterm" in outcome

        sender = threading.Thread(target=send_bulk)
        sender.start()
        wait_until(lambda: _bulk_is_running(settings), 30, "the bulk upsert to reach the database", api)
        api.process.send_signal(signal.SIGTERM)
        outcome["sigterm"] = True
        sender.join(120)
        exit_code = api.process.wait(60)
    # uvicorn (>= 0.29) re-raises the signal it caught once shutdown is complete, so a clean stop ends with
    # -SIGTERM (what supervisors expect), not 0; the log shows the shutdown ran to completion.
    assert exit_code in (0, -signal.SIGTERM), api.log_tail()
    assert "Application shutdown complete" in api.log_tail()
    response = outcome["response"]
    assert outcome["answered_after_sigterm"]  # it really was in flight when the signal came
    assert response.status_code == 200, response.text
    with psycopg.connect(settings.postgres_dsn) as conn:
        stored = conn.execute("SELECT count(*) FROM products WHERE sku LIKE %s", (f"TERM-{unique}-%",)).fetchone()
    assert stored is not None and stored[0] == BULK_ITEMS


def _bulk_is_running(settings: Settings) -> bool:
    """Some backend of the test database is inside a writing transaction on products (the bulk's rows are
    uncommitted, so they cannot be counted; `backend_xid` is set once a transaction has written)."""
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_xid IS NOT NULL AND query ILIKE '%%products%%'").fetchone()
    return bool(found and found[0])


def test_sigterm_to_the_indexer_mid_backlog_finishes_its_batch_and_exits_0(
    catalog_rows: CatalogRows, search_index: str, settings: Settings, unique: str, tmp_path: Path
) -> None:
    from indexer.verify import verify

    catalog_rows.conn.execute(
        "INSERT INTO products (sku, name, price, currency, status) "
        "SELECT 'TERMIX-' || %s || '-' || n, 'Term ' || n, 9.99, 'USD', 'active' FROM generate_series(1, 3000) AS n",
        (unique,))
    log = tmp_path / "indexer.log"
    indexer = indexer_process(log)
    total = _pending(catalog_rows)
    wait_until(lambda: _pending(catalog_rows) < total, 60, "the first batch")
    indexer.send_signal(signal.SIGTERM)
    assert indexer.wait(30) == 0, log.read_text()[-2000:]
    assert "finishing the current batch" in log.read_text()
    left = _pending(catalog_rows)
    assert 0 < left < total  # stopped mid-backlog
    report = verify(settings)
    assert report.drift == 0, report  # what it acknowledged is searchable; the rest is still queued
