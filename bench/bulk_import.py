"""Bulk import: `POST /products/bulk` (JSON, chunks of 5k-10k) of N products vs PostgreSQL `COPY` of the same rows.

    .venv/bin/python -m bench.bulk_import --products 10000 --chunk 5000

Works in its own scratch database (`catalog_bench_import`: dropped, created and migrated here; emptied before each
repeat). The API runs as its own uvicorn process on loopback (started here unless `--api-url` is given); one
client sends the chunks one after another. The baselines get the very same rows in one `COPY`:
  - into `bench_copy_products`, a scratch table `LIKE products INCLUDING ALL` (columns, defaults, indexes and
    constraints, but none of the triggers): what PostgreSQL itself costs;
  - into `products` itself, triggers on (audit, price history, outbox): what the data model costs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from bench.api_process import free_port, start_api  # noqa: E402

BENCH_DB = "catalog_bench_import"
SCRATCH_TABLE = "bench_copy_products"
COPY_COLUMNS = ("sku", "name", "description", "brand", "status", "price", "currency", "attributes", "images")
BRANDS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka")
NOUNS = ("kettle", "lamp", "television", "drill", "jacket", "blender", "monitor", "backpack", "speaker", "chair")
COLORS = ("red", "blue", "black", "white", "green", "grey")
NAMES = ("API POST /products/bulk", "COPY into products (triggers)", "COPY into scratch table")


def products(count: int, seed: int = 42, prefix: str = "IMP") -> list[dict[str, Any]]:
    """`count` deterministic, realistic-sized products (the bulk API's item shape)."""
    rng = random.Random(seed)
    items = []
    for n in range(count):
        brand, noun = rng.choice(BRANDS), rng.choice(NOUNS)
        items.append({
            "sku": f"{prefix}-{n:07d}", "name": f"{brand} {noun} model {rng.randrange(100, 9999)}",
            "description": f"A dependable {noun} by {brand}, item {n}, with a description long enough to be "
                           f"realistic: sturdy, well reviewed and covered by a two-year warranty.",
            "brand": brand, "status": "active", "price": round(rng.uniform(5, 900), 2), "currency": "USD",
            "attributes": {"color": rng.choice(COLORS), "size": rng.randrange(1, 13),
                           "weight_kg": rng.randrange(1, 40)},
            "images": [f"https://img.example/{prefix.lower()}/{n}.jpg"],
        })
    return items


# --- the scratch database -----------------------------------------------------------------------------------------


def prepare_database(settings: Any) -> None:
    """Drop, create and migrate the scratch database the settings name."""
    from db.migrate import upgrade
    from stack.postgres_server import recreate_database

    recreate_database(settings, settings.postgres_db)
    upgrade(settings.database_url)


def empty_catalog(settings: Any) -> None:
    """No products (nor their audit, history and outbox rows); a fresh, empty scratch table."""
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE products, outbox, audit_log, price_history RESTART IDENTITY CASCADE")
        conn.execute(f"DROP TABLE IF EXISTS {SCRATCH_TABLE}")
        conn.execute(f"CREATE TABLE {SCRATCH_TABLE} (LIKE products INCLUDING ALL)")


# --- the two ways in ----------------------------------------------------------------------------------------------


def import_through_api(api_url: str, token: str, items: list[dict[str, Any]], chunk: int) -> tuple[float, int]:
    """POST the items in chunks, one after another; (seconds, items not created)."""
    bodies = [json.dumps(items[i : i + chunk]).encode() for i in range(0, len(items), chunk)]
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    failed = 0
    with httpx.Client(base_url=api_url, headers=headers, timeout=600) as client:
        started = time.perf_counter()
        for body in bodies:
            response = client.post("/products/bulk", content=body)
            response.raise_for_status()
            summary = response.json()["summary"]
            failed += summary["error"] + summary["updated"] + summary["unchanged"]
        return time.perf_counter() - started, failed


def import_with_copy(settings: Any, items: list[dict[str, Any]], table: str) -> float:
    """The same rows in one COPY (and one commit); seconds."""
    rows = [tuple(json.dumps(item[c]) if c in ("attributes", "images") else item[c] for c in COPY_COLUMNS)
            for item in items]
    with psycopg.connect(settings.postgres_dsn) as conn:
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


def measure(settings: Any, api_url: str, count: int, chunk: int) -> dict[str, float]:
    """One repeat on an emptied catalog: API, then COPY into products, then COPY into the scratch table."""
    from api.auth.security import issue_token

    items = products(count)
    token = issue_token(settings, uuid.uuid4(), ["admin"])
    empty_catalog(settings)
    api_s, failed = import_through_api(api_url, token, items, chunk)
    if failed:
        raise RuntimeError(f"{failed} of {count} items were not created by POST /products/bulk")
    empty_catalog(settings)
    products_s = import_with_copy(settings, items, "products")
    scratch_s = import_with_copy(settings, items, SCRATCH_TABLE)
    return {"API POST /products/bulk: rows/s": count / api_s, "API POST /products/bulk: s": api_s,
            "COPY into products (triggers): rows/s": count / products_s,
            "COPY into products (triggers): s": products_s,
            "COPY into scratch table: rows/s": count / scratch_s, "COPY into scratch table: s": scratch_s}


def scratch_settings(database: str = BENCH_DB) -> Any:
    """The catalog settings, pointed at the scratch database."""
    from catalog.settings import get_settings

    return get_settings().model_copy(update={"postgres_db": database})




def run(count: int, chunk: int = 5000, repeat: int = 1, api_url: str | None = None,
        database: str = BENCH_DB) -> list[dict[str, float]]:
    """Prepare the scratch database, serve it (unless `api_url`), and measure `repeat` times."""

    settings = scratch_settings(database)
    prepare_database(settings)
    process = None
    if api_url is None:
        port = free_port()
        env = {**os.environ, "CATALOG_POSTGRES_DB": database}
        process = start_api(port, Path(f"/tmp/bench-import-api-{port}.log"), env)
        api_url = f"http://127.0.0.1:{port}"
    try:
        return [measure(settings, api_url, count, chunk) for _ in range(repeat)]
    finally:
        if process is not None:
            process.terminate()
            process.wait(20)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=10_000, help="products imported")
    parser.add_argument("--chunk", type=int, default=5000, help="items per POST /products/bulk (at most 10,000)")
    parser.add_argument("--repeat", type=int, default=1, help="repeats (each on an emptied catalog)")
    parser.add_argument("--database", default=BENCH_DB, help=f"scratch database (default {BENCH_DB})")
    parser.add_argument("--api-url", help="an API already serving --database (its rate limits apply)")
    args = parser.parse_args(argv)
    outs = run(args.products, args.chunk, args.repeat, args.api_url, args.database)
    for n, out in enumerate(outs, 1):
        api = out["API POST /products/bulk: rows/s"]
        print(f"repeat {n}: {args.products} products, chunks of {args.chunk}")
        for name in NAMES:
            rate = out[f"{name}: rows/s"]
            print(f"  {name:<32}{out[f'{name}: s']:8.2f} s {rate:10,.0f} rows/s   API/this x{api / rate:.3f}")
    if len(outs) > 1:
        print(f"median of {len(outs)} repeats (ratio: the median of each repeat's own API/this)")
        for name in NAMES:
            rate = statistics.median(out[f"{name}: rows/s"] for out in outs)
            ratio = statistics.median(out["API POST /products/bulk: rows/s"] / out[f"{name}: rows/s"] for out in outs)
            print(f"  {name:<32}{rate:19,.0f} rows/s   API/this x{ratio:.3f}")


if __name__ == "__main__":
    main()
