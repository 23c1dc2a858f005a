"""Commit-to-searchable lag at a steady write rate, next to a raw `_bulk` write's lag (the refresh floor).

    .venv/bin/python bench/indexer_lag.py --rate 50 --duration 20

A real `indexer run` process consumes the outbox while this script updates products at --rate per
second; a poller searches for each written version and records when it first becomes searchable.
The floor: the same poller timing raw `_bulk` writes (no indexer, no refresh request) into a scratch index
with the same mapping and refresh interval. `run()` does the same on any seeded, indexed database.
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from indexer_common import prepare, seed, use_bench_environment  # noqa: E402

from bench.stats import nearest_rank  # noqa: E402


def percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (f"p50 {statistics.median(values) * 1000:.0f} ms, p99 {nearest_rank(values, 0.99) * 1000:.0f} ms "
            f"(n={len(values)})")


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


def start_indexer(workers: int, visibility: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "catalog.cli", "indexer", "run", "--log-level", "WARNING",
               "--workers", str(workers), "--visibility", visibility]
    return subprocess.Popen(command, cwd=ROOT, env=os.environ.copy())


def raw_floor_index(client: Any, alias: str, refresh_interval: str) -> str:
    """A scratch index with the live index's mapping and refresh interval, outside the alias."""
    from indexer.mapping import index_mappings, index_settings

    name = f"{alias}_rawlag"
    client.indices.delete(index=name, ignore_unavailable=True)
    client.indices.create(index=name, body={"settings": index_settings(refresh_interval),
                                            "mappings": index_mappings()})
    return name


def run(settings: Any, rate: float = 50, duration: float = 20, workers: int = 2, visibility: str = "refresh",
        ids: list[int] | None = None) -> dict[str, float]:
    """Lag of a real indexer process while products are updated at `rate`/s, then the raw `_bulk` floor.

    The database must be indexed and caught up (no backlog). `ids`: products to update (default: the first 2000).
    """
    import psycopg

    from indexer.bulk import Action, BulkWriter
    from indexer.client import make_client
    from indexer.documents import build_documents
    from indexer.options import IndexerOptions

    client = make_client(settings)
    conn = psycopg.connect(settings.postgres_dsn, autocommit=True)
    if ids is None:
        ids = [int(r[0]) for r in conn.execute("SELECT id FROM products ORDER BY id LIMIT 2000")]
    first_probe = int(conn.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0])  # type: ignore[index]
    refresh = IndexerOptions.from_settings(settings).refresh_interval
    run_token = f"{time.time_ns():x}"  # a name never written before: an unchanged row writes no outbox change
    indexer = start_indexer(workers, visibility)
    poller = Poller(client, settings.index_alias)
    poller.start()

    def write_through_postgres(n: int) -> None:
        product_id = ids[n % len(ids)]
        row = conn.execute(
            "UPDATE products SET name = %s WHERE id = %s RETURNING version", (f"Lag probe {n} {run_token}", product_id)
        ).fetchone()
        poller.expect(product_id, int(row[0]), time.perf_counter())  # type: ignore[index]

    try:
        time.sleep(2)  # the indexer process starts up
        steady_writes(rate, duration, write_through_postgres)
        time.sleep(3)
    finally:
        indexer.terminate()
        indexer.wait(30)
    poller.stop.set()
    poller.join()
    indexer_lags = poller.lags
    processed = [float(r[0]) for r in conn.execute(
        "SELECT extract(epoch FROM processed_at - created_at) FROM outbox WHERE id > %s AND processed_at IS NOT NULL",
        (first_probe,))]

    # The floor: the same documents written straight to _bulk (no refresh request), polled the same way.
    raw_index = raw_floor_index(client, settings.index_alias, refresh)
    raw_poller = Poller(client, raw_index)
    raw_poller.start()
    writer = BulkWriter(client)

    def write_raw(n: int) -> None:
        product_id = ids[n % len(ids)]
        doc = build_documents(conn, [product_id])[product_id]
        version = int(doc["version"]) + 1 + n  # outranks every earlier raw write of this product
        writer.write(raw_index, [Action(product_id, version, {**doc, "version": version})])
        raw_poller.expect(product_id, version, time.perf_counter())

    try:
        steady_writes(rate, duration, write_raw)
        time.sleep(3)
    finally:
        raw_poller.stop.set()
        raw_poller.join()
        client.indices.delete(index=raw_index, ignore_unavailable=True)
        conn.close()
    ms = _ms
    return {"indexer: p50 ms": ms(indexer_lags, 0.5), "indexer: p99 ms": ms(indexer_lags, 0.99),
            "indexer: samples": float(len(indexer_lags)), "outbox processed: p50 ms": ms(processed, 0.5),
            "outbox processed: p99 ms": ms(processed, 0.99), "raw _bulk: p50 ms": ms(raw_poller.lags, 0.5),
            "raw _bulk: p99 ms": ms(raw_poller.lags, 0.99), "raw _bulk: samples": float(len(raw_poller.lags)),
            "refresh interval ms": _interval_ms(refresh)}


def _ms(values: list[float], q: float) -> float:
    return nearest_rank(values, q) * 1000


def _interval_ms(interval: str) -> float:
    units = {"ms": 1.0, "s": 1000.0, "m": 60_000.0}
    for unit in ("ms", "s", "m"):
        if interval.endswith(unit):
            return float(interval[: -len(unit)]) * units[unit]
    return float("nan")


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

    from catalog.settings import get_settings
    from indexer.client import make_client
    from indexer.mapping import ensure_index
    from indexer.options import IndexerOptions
    from indexer.stream import OutboxConsumer

    settings = get_settings()
    prepare(settings)
    ensure_index(make_client(settings), settings)
    seed(settings, args.products)
    OutboxConsumer(settings, IndexerOptions(batch_size=1000)).drain()
    out = run(settings, args.rate, args.duration, args.workers, args.visibility)
    print(f"indexer: {args.workers} workers, visibility {args.visibility}")
    print(f"writes: {args.rate:g}/s for {args.duration:g}s; index.refresh_interval = "
          f"{out['refresh interval ms']:.0f} ms (the floor)")
    for label, key in (("commit -> searchable via indexer", "indexer"), ("commit -> processed_at (outbox)",
                       "outbox processed"), ("raw _bulk -> searchable", "raw _bulk")):
        print(f"{label:<33}: p50 {out[key + ': p50 ms']:.0f} ms, p99 {out[key + ': p99 ms']:.0f} ms")
    print(f"ratio (p50 indexer / p50 raw)    : {out['indexer: p50 ms'] / out['raw _bulk: p50 ms']:.2f}")
    prepare(settings)  # clean up the bench alias's indices


if __name__ == "__main__":
    main()
