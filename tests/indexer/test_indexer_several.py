"""Three `catalog indexer run` processes on one outbox while threads update the same products concurrently.

Every document ends at its product's latest version (external versioning: an older write never wins), `verify`
finds no drift, and no outbox row is processed twice (rows are claimed with FOR UPDATE SKIP LOCKED, so each one
belongs to a single indexer's batch; only a failed batch, which records its error, is retried).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psycopg
from opensearchpy import OpenSearch

from catalog.settings import PROJECT_ROOT, Settings
from indexer.verify import verify
from stack.processes import port_is_open
from tests.helpers.catalog_rows import CatalogRows

INDEXERS = 3
PRODUCTS = 200
WRITERS = 6
CATALOG = Path(sys.executable).parent / "catalog"
"""The `catalog` console script of this environment."""


def free_ports(count: int, first: int = 9460) -> list[int]:
    ports = [port for port in range(first, first + 40) if not port_is_open("127.0.0.1", port)]
    assert len(ports) >= count, f"need {count} free ports from {first} for the indexers' metrics"
    return ports[:count]


def start_indexer(log: Path, metrics_port: int) -> subprocess.Popen[bytes]:
    """One `catalog indexer run` process with one consumer (environment: this session's database and alias)."""
    with log.open("ab") as out:
        command = [str(CATALOG), "indexer", "run", "--batch-size", "50", "--workers", "1"]
        return subprocess.Popen(
            [*command, "--metrics-port", str(metrics_port)],
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )


def scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            return str(response.read().decode())
    except OSError:
        return None


def sample(body: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", body, re.MULTILINE)
    assert found, f"{name} missing from the indexer's metrics"
    return float(found.group(1))


def wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def update_concurrently(dsn: str, product_ids: list[int], seed: int, errors: list[BaseException]) -> None:
    """One writer thread: one single-row commit per product, in an order of its own (the other writers update the
    same products at the same time), so every product ends at version 1 + WRITERS."""
    order = random.Random(seed).sample(product_ids, len(product_ids))
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for step, product_id in enumerate(order):
                conn.execute(
                    "UPDATE products SET description = %s, price = price + 1 WHERE id = %s",
                    (f"writer {seed} step {step}", product_id),
                )
    except BaseException as exc:
        errors.append(exc)


def test_three_indexers_on_one_outbox_end_at_the_latest_versions(
    catalog_rows: CatalogRows, search_index: str, os_client: OpenSearch, settings: Settings, tmp_path: Path
) -> None:
    first_change = int(catalog_rows.scalar("SELECT coalesce(max(id), 0) FROM outbox")) + 1
    product_ids = [catalog_rows.product(description="v1") for _ in range(PRODUCTS)]
    ports = free_ports(INDEXERS)
    log = tmp_path / "indexers.log"
    indexers = [start_indexer(log, port) for port in ports]
    try:
        wait_until(lambda: all(scrape(port) for port in ports), 60, "the three indexers to start")
        errors: list[BaseException] = []
        writers = [
            threading.Thread(target=update_concurrently, args=(settings.postgres_dsn, product_ids, seed, errors))
            for seed in range(WRITERS)
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(120)
        assert not errors, errors
        wait_until(
            lambda: catalog_rows.scalar("SELECT count(*) FROM outbox WHERE processed_at IS NULL") == 0,
            120,
            "the outbox to drain",
        )
        bodies = [scrape(port) or "" for port in ports]
    finally:
        for indexer in indexers:
            indexer.send_signal(signal.SIGTERM)
        exit_codes = [indexer.wait(30) for indexer in indexers]
    assert exit_codes == [0] * INDEXERS, log.read_text()[-3000:]

    batches = [sample(body, "catalog_indexer_batch_seconds_count") for body in bodies]
    written = [sample(body, "catalog_indexer_docs_indexed_total") for body in bodies]
    assert all(count > 0 for count in batches), f"an indexer got no batch: {batches}"

    versions = dict(
        catalog_rows.conn.execute("SELECT id, version FROM products WHERE id = ANY(%s)", (product_ids,)).fetchall()
    )
    assert set(versions.values()) == {1 + WRITERS}  # the insert, then one update per writer
    docs = os_client.mget(index=search_index, body={"ids": [str(i) for i in product_ids]})["docs"]
    indexed = {int(doc["_id"]): (doc["_version"], doc["_source"]["version"]) for doc in docs if doc["found"]}
    stale = {i: (indexed.get(i), v) for i, v in versions.items() if indexed.get(i) != (v, v)}
    assert not stale, f"documents not at the product's version ((_version, version), postgres): {stale}"

    report = verify(settings)
    assert (report.drift, report.pending) == (0, 0)

    rows, twice, twice_without_error = catalog_rows.conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE attempts > 1), "
        "count(*) FILTER (WHERE attempts > 1 AND last_error IS NULL) FROM outbox WHERE id >= %s",
        (first_change,),
    ).fetchone() or (0, 0, 0)
    assert rows >= PRODUCTS * (1 + WRITERS)
    assert twice_without_error == 0, f"{twice_without_error} outbox rows processed twice with no failure between"
    print(
        f"{rows} outbox rows, {twice} retried after a failure; batches per indexer {batches}, "
        f"documents written per indexer {written} for {len(versions)} products"
    )
