"""Commit-to-searchable lag at a steady write rate, next to a raw `_bulk` write's lag (the refresh floor).

    .venv/bin/python bench/indexer_lag.py --rate 50 --duration 20

A real `indexer run` process consumes the outbox while this script updates products at --rate per
second; a poller searches for each written version and records when it first becomes searchable.
The floor: the same poller timing raw `_bulk` writes (no indexer, no refresh request) into the index.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from indexer_common import prepare, seed, use_bench_environment  # noqa: E402


def percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (n={len(ordered)})"


class Poller(threading.Thread):
    """Searches for every awaited (id, version) until it shows up; records the lag from `written_at`."""

    def __init__(self, client: object, alias: str) -> None:
        super().__init__(daemon=True)
        self.client, self.alias = client, alias
        self.pending: dict[int, tuple[int, float]] = {}
        self.lags: list[float] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def expect(self, product_id: int, version: int, written_at: float) -> None:
        with self.lock:
            self.pending[product_id] = (version, written_at)

    def run(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                wanted = dict(self.pending)
            if wanted:
                body = {
                    "query": {"ids": {"values": [str(i) for i in wanted]}},
                    "size": len(wanted),
                    "_source": False,
                    "version": True,
                }
                hits = self.client.search(index=self.alias, body=body)["hits"]["hits"]  # type: ignore[attr-defined]
                now = time.perf_counter()
                with self.lock:
                    for hit in hits:
                        product_id = int(hit["_id"])
                        expected = self.pending.get(product_id)
                        if expected and hit["_version"] >= expected[0]:
                            self.lags.append(now - expected[1])
                            del self.pending[product_id]
            time.sleep(0.01)


def steady_writes(rate: float, duration: float, write: object) -> None:
    interval, n = 1.0 / rate, 0
    start = time.perf_counter()
    while time.perf_counter() - start < duration:
        write(n)  # type: ignore[operator]
        n += 1
        time.sleep(max(0.0, start + n * interval - time.perf_counter()))


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--rate", type=float, default=50, help="product updates per second")
    parser.add_argument("--duration", type=float, default=20, help="seconds of writing")
    parser.add_argument("--products", type=int, default=2000, help="catalog size")
    parser.add_argument("--workers", type=int, default=2, help="`indexer run --workers`")
    parser.add_argument("--visibility", default="refresh", choices=["refresh", "wait_for"])
    parser.add_argument("--database", default="catalog_bench_indexer")
    parser.add_argument("--alias", default="bench_products")
    args = parser.parse_args()
    use_bench_environment(args.database, args.alias)

    import psycopg

    from catalog.settings import get_settings
    from indexer.bulk import Action, BulkWriter
    from indexer.client import make_client
    from indexer.documents import build_documents
    from indexer.mapping import ensure_index
    from indexer.options import IndexerOptions
    from indexer.stream import OutboxConsumer

    settings = get_settings()
    prepare(settings)
    client = make_client(settings)
    index = ensure_index(client, settings)
    seed(settings, args.products)
    OutboxConsumer(settings, IndexerOptions(batch_size=1000)).drain()
    first_probe = int(
        psycopg.connect(settings.postgres_dsn).execute("SELECT max(id) FROM outbox").fetchone()[0]
    )  # type: ignore[index]
    refresh = IndexerOptions.from_settings(settings).refresh_interval

    indexer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "indexer.cli",
            "run",
            "--log-level",
            "WARNING",
            "--workers",
            str(args.workers),
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    poller = Poller(client, args.alias)
    poller.start()
    conn = psycopg.connect(settings.postgres_dsn, autocommit=True)

    def write_through_postgres(n: int) -> None:
        product_id = n % args.products + 1
        row = conn.execute(
            "UPDATE products SET name = %s WHERE id = %s RETURNING version", (f"Lag probe {n}", product_id)
        ).fetchone()
        poller.expect(product_id, int(row[0]), time.perf_counter())  # type: ignore[index]

    try:
        time.sleep(2)  # the indexer process starts up
        steady_writes(args.rate, args.duration, write_through_postgres)
        time.sleep(3)
    finally:
        indexer.terminate()
        indexer.wait(30)
    indexer_lags, poller.lags = poller.lags, []
    processed = conn.execute(
        "SELECT extract(epoch FROM processed_at - created_at) FROM outbox "
        "WHERE id > %s AND processed_at IS NOT NULL",
        (first_probe,),
    ).fetchall()

    # The floor: the same documents written straight to _bulk (no refresh request), polled the same way.
    writer = BulkWriter(client)

    def write_raw(n: int) -> None:
        product_id = n % args.products + 1
        doc = build_documents(conn, [product_id])[product_id]
        version = int(doc["version"]) + 1_000_000 + n  # outranks everything written before
        writer.write(index, [Action(product_id, version, {**doc, "version": version})])
        poller.expect(product_id, version, time.perf_counter())

    steady_writes(args.rate, args.duration, write_raw)
    time.sleep(3)
    poller.stop.set()
    raw_lags = poller.lags
    conn.close()
    print(f"indexer: {args.workers} workers, visibility {args.visibility}")
    print(f"writes: {args.rate:g}/s for {args.duration:g}s; index.refresh_interval = {refresh} (the floor)")
    print(f"commit -> searchable via indexer : {percentiles(indexer_lags)}")
    print(f"commit -> processed_at (outbox)  : {percentiles([float(r[0]) for r in processed])}")
    print(f"raw _bulk -> searchable          : {percentiles(raw_lags)}")
    if indexer_lags and raw_lags:
        ratio = statistics.median(indexer_lags) / statistics.median(raw_lags)
        print(f"ratio (p50 indexer / p50 raw)    : {ratio:.2f}")
    prepare(settings)  # clean up the bench alias's indices


if __name__ == "__main__":
    main()
