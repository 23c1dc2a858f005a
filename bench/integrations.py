"""Integrations: a CSV import timed end to end, and webhook delivery lag (commit -> receiver) under writes.

    .venv/bin/python -m bench.integrations --products 100000 --writers 4 --updates 500

Works in its own scratch database (`catalog_bench_integrations_io`: dropped, created and migrated here).
- import: the rows of bench/bulk_import.py as a CSV (sku, name, description, brand, status, price, currency, three
  attr.* columns, images) run as an import job in this process (parse, validate, COPY + merge per 1,000-row chunk,
  progress committed per chunk), against one COPY of the same rows into a scratch copy of `products`;
- webhook lag: `catalog webhooks worker` (its own process, default settings) delivers price.changed to a receiver on
  127.0.0.1 while `--writers` connections each commit `--updates` single-product price changes as fast as they
  can; lag = the receiver's clock at arrival - the change's commit time (payload `created_at`, same machine).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench import bulk_import  # noqa: E402
from bench.api_process import free_port  # noqa: E402

BENCH_DB = "catalog_bench_integrations_io"
CSV_COLUMNS = [
    "sku",
    "name",
    "description",
    "brand",
    "status",
    "price",
    "currency",
    "attr.color",
    "attr.size",
    "attr.weight_kg",
    "images",
]


def as_csv(items: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in items:
        attributes = item["attributes"]
        writer.writerow(
            [
                item["sku"],
                item["name"],
                item["description"],
                item["brand"],
                item["status"],
                item["price"],
                item["currency"],
                attributes["color"],
                attributes["size"],
                attributes["weight_kg"],
                "|".join(item["images"]),
            ]
        )
    return out.getvalue().encode()


async def _import(settings: Any, data: bytes) -> tuple[float, dict[str, Any]]:
    from api.imports.runner import run_job
    from api.imports.worker import create_job
    from db import imports as db
    from db.session import async_session_factory, make_async_engine

    engine = make_async_engine(settings)
    sessions = async_session_factory(engine)
    try:
        started = time.perf_counter()
        job_id = (await create_job(sessions, data, "csv", "bench.csv", False, False, None, run_here=True))[0]
        await run_job(settings, sessions, job_id)
        seconds = time.perf_counter() - started
        async with sessions() as session:
            row = (await (await session.connection()).exec_driver_sql(db.GET_JOB_SQL, {"id": job_id})).one()
    finally:
        await engine.dispose()
    return seconds, {"status": row[1], "created": row[8], "rejected": row[11]}


def measure_import(settings: Any, count: int) -> dict[str, float]:
    items = bulk_import.products(count, prefix="CSV")
    data = as_csv(items)
    bulk_import.empty_catalog(settings)
    seconds, job = asyncio.run(_import(settings, data))
    if job["status"] != "done" or job["created"] != count:
        raise RuntimeError(f"the import did not create every row: {job}")
    scratch = bulk_import.import_with_copy(settings, items, bulk_import.SCRATCH_TABLE)
    return {
        "import CSV: rows/s": count / seconds,
        "import CSV: s": seconds,
        "import CSV: MB": len(data) / 1e6,
        "COPY into scratch table: rows/s": count / scratch,
    }


# --- webhook lag ---------------------------------------------------------------------------------------------------


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.arrivals: list[tuple[float, dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.arrivals.append((time.time(), json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _start_worker(settings: Any, log: Path) -> subprocess.Popen[bytes]:
    """`catalog webhooks worker` on the scratch database, its own process as under `catalog run`."""
    env = {**os.environ, "CATALOG_POSTGRES_DB": settings.postgres_db}
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "catalog"), "webhooks", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )


def _writer(dsn: str, ids: list[int], updates: int, seed: int, interval: float) -> None:
    """`updates` committed price changes, one every `interval` seconds (0: as fast as the database takes them)."""
    rng = random.Random(seed)
    next_at = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(updates):
            if interval:
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))
            conn.execute("UPDATE products SET price = price + 0.01 WHERE id = %s", (rng.choice(ids),))


def measure_webhook_lag(settings: Any, writers: int, updates: int, rate: float = 0) -> dict[str, float]:
    from db import webhooks

    bulk_import.empty_catalog(settings)
    bulk_import.import_with_copy(settings, bulk_import.products(2000, prefix="HOOK"), "products")
    receiver = Receiver()
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM webhook_endpoints")
        conn.execute(
            webhooks.CREATE_ENDPOINT_SQL,
            {
                "url": f"http://127.0.0.1:{receiver.port}/hook",
                "events": ["price.changed"],
                "secret": "bench-secret-0123456789",
                "description": "bench",
                "active": True,
                "actor": None,
            },
        )
        ids = [int(r[0]) for r in conn.execute("SELECT id FROM products")]
    worker = _start_worker(settings, Path(f"/tmp/bench-webhooks-worker-{receiver.port}.log"))
    time.sleep(3.0)  # started, LISTENing
    try:
        started = time.perf_counter()
        interval = writers / rate if rate else 0.0
        threads = [
            threading.Thread(target=_writer, args=(settings.postgres_dsn, ids, updates, n, interval))
            for n in range(writers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        write_seconds = time.perf_counter() - started
        expected = writers * updates
        deadline = time.monotonic() + 120
        while len(receiver.arrivals) < expected and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
        receiver.close()
    lags = sorted(
        (arrived - datetime.fromisoformat(p["created_at"]).timestamp()) * 1000 for arrived, p in receiver.arrivals
    )
    if len(lags) < expected:
        raise RuntimeError(f"only {len(lags)} of {expected} webhooks arrived")
    quantiles = statistics.quantiles(lags, n=100)
    return {
        "webhook lag: p50 ms": quantiles[49],
        "webhook lag: p99 ms": quantiles[98],
        "webhook lag: max ms": lags[-1],
        "webhooks delivered": float(len(lags)),
        "writes/s during the bench": expected / write_seconds,
    }


def run(
    count: int, writers: int, updates: int, repeat: int = 1, database: str = BENCH_DB, rate: float = 0
) -> list[dict[str, float]]:
    settings = bulk_import.scratch_settings(database)
    bulk_import.prepare_database(settings)
    return [
        {**measure_import(settings, count), **measure_webhook_lag(settings, writers, updates, rate)}
        for _ in range(repeat)
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=100_000, help="rows in the imported CSV")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writers during the webhook lag run")
    parser.add_argument("--updates", type=int, default=500, help="price changes committed by each writer")
    parser.add_argument("--rate", type=float, default=0, help="total writes/s to pace the writers at (0: flat out)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--database", default=BENCH_DB, help=f"scratch database (default {BENCH_DB})")
    args = parser.parse_args(argv)
    for n, out in enumerate(run(args.products, args.writers, args.updates, args.repeat, args.database, args.rate), 1):
        print(f"repeat {n}: import of {args.products:,} CSV rows; {args.writers} writers x {args.updates} updates")
        for key, value in out.items():
            print(f"  {key:<36}{value:12,.1f}")
        ratio = out["import CSV: rows/s"] / out["COPY into scratch table: rows/s"]
        print(f"  import / COPY into scratch table      x{ratio:.3f}")


if __name__ == "__main__":
    main()
