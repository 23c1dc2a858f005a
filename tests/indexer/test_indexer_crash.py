"""`kill -9` of a real `indexer run` process mid-backlog, then a restart: nothing lost, nothing stale."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from catalog.settings import PROJECT_ROOT, Settings
from indexer.verify import verify
from tests.helpers.catalog_rows import CatalogRows

BACKLOG = 4000


def start_indexer(log: Path) -> subprocess.Popen[bytes]:
    """`catalog indexer run` as its own process (environment: this session's database and alias)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "catalog.cli", "indexer", "run", "--batch-size", "100"],
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )


def wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_kill_9_mid_batch_then_restart_leaves_zero_drift(
    catalog_rows: CatalogRows, search_index: str, settings: Settings, unique: str, tmp_path: Path
) -> None:
    first_change = int(catalog_rows.scalar("SELECT coalesce(max(id), 0) FROM outbox")) + 1
    catalog_rows.conn.execute(
        "INSERT INTO products (sku, name, price, currency, status, attributes) "
        "SELECT 'CRASH-' || %s || '-' || n, 'Crash ' || %s || ' ' || n, n %% 500 + 0.99, 'USD', 'active', "
        "jsonb_build_object('size', n %% 7) FROM generate_series(1, %s) AS n",
        (unique, unique, BACKLOG),
    )
    catalog_rows.conn.execute(
        "UPDATE products SET description = 'edited' WHERE sku LIKE %s AND id %% 4 = 0", (f"CRASH-{unique}-%",)
    )

    def processed() -> int:
        return int(
            catalog_rows.scalar(
                "SELECT count(*) FROM outbox WHERE id >= %s AND processed_at IS NOT NULL", (first_change,)
            )
        )

    log = tmp_path / "indexer.log"
    indexer = start_indexer(log)
    wait_until(lambda: processed() > 0, 60, "the first batch")
    indexer.send_signal(signal.SIGKILL)
    assert indexer.wait(10) == -signal.SIGKILL
    assert processed() < BACKLOG * 1.25  # it died with work left

    restarted = start_indexer(log)
    try:
        wait_until(
            lambda: catalog_rows.scalar("SELECT count(*) FROM outbox WHERE processed_at IS NULL") == 0,
            240,
            "the backlog to drain",
        )
    finally:
        restarted.send_signal(signal.SIGTERM)
        exit_code = restarted.wait(30)
    assert exit_code == 0, log.read_text()[-2000:]
    report = verify(settings)
    assert (report.drift, report.pending) == (0, 0)
    assert report.opensearch_count == report.postgres_count
