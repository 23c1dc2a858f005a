"""`GET /products/{id}` and `POST /products` through the API vs the same SELECT / INSERT with psycopg.

    .venv/bin/python bench/products_api.py --requests 3000 --concurrency 16

Starts the API (uvicorn, one worker) against a dedicated bench database, loads it from this process
with an async HTTP client on loopback, then runs the same single-row statements straight through an
async psycopg pool of the same size. Prints p50/p99 latency and throughput for both, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "catalog_bench_products"
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from psycopg_pool import AsyncConnectionPool  # noqa: E402

from api.auth.security import issue_token  # noqa: E402
from bench.api_process import free_port, start_api  # noqa: E402
from catalog.settings import get_settings  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from stack import manager  # noqa: E402
from stack.postgres_server import ensure_database  # noqa: E402

INSERT_SQL = (
    "INSERT INTO products (sku, name, description, brand, price, currency, attributes, images, completeness, "
    "missing_fields) VALUES (%s, %s, %s, %s, %s, 'USD', %s, %s, 60, %s) RETURNING id, version"
)
SELECT_SQL = (
    "SELECT p.*, c.name, c.path, coalesce(s.on_hand, 0), coalesce(s.reserved, 0) FROM products p "
    "LEFT JOIN categories c ON c.id = p.category_id LEFT JOIN (SELECT product_id, sum(on_hand) on_hand, "
    "sum(reserved) reserved FROM inventory GROUP BY product_id) s ON s.product_id = p.id WHERE p.id = %s"
)


@dataclass
class Result:
    name: str
    latencies_ms: list[float]
    seconds: float

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def quantile(self, q: float) -> float:
        return statistics.quantiles(self.latencies_ms, n=100)[int(q * 100) - 1]


async def run_load(
    name: str, total: int, concurrency: int, call: Callable[[int], Awaitable[None]], max_seconds: float = 120.0
) -> Result:
    """At most `total` calls, and none started after `max_seconds`."""
    latencies: list[float] = []
    counter = iter(range(total))
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        for i in counter:
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            await call(i)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, latencies, time.perf_counter() - started)






def body(i: int) -> dict[str, object]:
    return {
        "sku": f"BENCH-{uuid.uuid4().hex[:16]}",
        "name": f"Bench product {i}",
        "price": 10 + i % 500,
        "description": "A product written by the benchmark, with a realistic description length.",
        "brand": "Bench",
        "attributes": {"color": "red", "size": i % 12},
        "images": [],
    }


async def api_scenarios(
    api_url: str, ids: list[int], requests: int, concurrency: int, max_seconds: float = 120.0
) -> list[Result]:
    settings = get_settings()
    token = issue_token(settings, uuid.uuid4(), ["admin"])
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=api_url, limits=limits, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:

        async def get(i: int) -> None:
            response = await client.get(f"/products/{ids[i % len(ids)]}")
            assert response.status_code == 200, response.text

        async def post(i: int) -> None:
            response = await client.post("/products", json=body(i))
            assert response.status_code == 201, response.text

        await run_load("warm-up", min(200, requests), concurrency, get)
        return [
            await run_load("API GET /products/{id}", requests, concurrency, get, max_seconds),
            await run_load("API POST /products", requests, concurrency, post, max_seconds),
        ]


async def raw_scenarios(ids: list[int], requests: int, concurrency: int, max_seconds: float = 120.0) -> list[Result]:
    settings = get_settings()
    async with AsyncConnectionPool(settings.postgres_dsn, min_size=concurrency, max_size=concurrency) as pool:

        async def select(i: int) -> None:
            async with pool.connection() as conn:
                assert (await (await conn.execute(SELECT_SQL, (ids[i % len(ids)],))).fetchone()) is not None

        async def insert(i: int) -> None:
            data = body(i)
            async with pool.connection() as conn:
                await conn.execute(
                    INSERT_SQL,
                    (
                        data["sku"],
                        data["name"],
                        data["description"],
                        data["brand"],
                        data["price"],
                        psycopg.types.json.Jsonb(data["attributes"]),
                        psycopg.types.json.Jsonb([]),
                        ["images"],
                    ),
                )

        await run_load("warm-up", min(200, requests), concurrency, select)
        return [
            await run_load("psycopg SELECT by id", requests, concurrency, select, max_seconds),
            await run_load("psycopg INSERT", requests, concurrency, insert, max_seconds),
        ]


PAIRS = [("API GET /products/{id}", "psycopg SELECT by id"), ("API POST /products", "psycopg INSERT")]


def figures(results: list[Result]) -> dict[str, float]:
    """Flat numbers per scenario: `<name>: p50 ms`, `p99 ms`, `req/s`."""
    out: dict[str, float] = {}
    for r in results:
        out |= {
            f"{r.name}: p50 ms": r.quantile(0.5),
            f"{r.name}: p99 ms": r.quantile(0.99),
            f"{r.name}: req/s": r.throughput,
        }
    return out


def measure(api_url: str, ids: list[int], requests: int, concurrency: int, max_seconds: float = 120.0) -> list[Result]:
    """The API scenarios against `api_url`, then the same statements through psycopg (same database)."""
    results = asyncio.run(api_scenarios(api_url, ids, requests, concurrency, max_seconds))
    return results + asyncio.run(raw_scenarios(ids, requests, concurrency, max_seconds))


def prepare_database(rows: int) -> list[int]:
    settings = get_settings()
    manager.up(settings, say=lambda _: None)
    ensure_database(settings, BENCH_DB)
    upgrade(settings.database_url)
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE products, outbox, audit_log RESTART IDENTITY CASCADE")
        conn.execute("SELECT set_config('catalog.allow_history_purge', 'on', false)")
        conn.execute("DELETE FROM price_history")
        conn.execute(
            "INSERT INTO products (sku, name, description, brand, price, currency) "
            "SELECT 'SEED-' || n, 'Seed product ' || n, 'Seeded for the benchmark.', 'Seed', n %% 900 + 1, 'USD' "
            "FROM generate_series(1, %s) n",
            (rows,),
        )
        return [row[0] for row in conn.execute("SELECT id FROM products ORDER BY id")]


def report(results: list[Result], pairs: list[tuple[str, str]] = PAIRS) -> None:
    print(f"\n{'scenario':<26}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}")
    by_name = {r.name: r for r in results}
    for r in results:
        print(
            f"{r.name:<26}{len(r.latencies_ms):>9}{r.quantile(0.5):>9.2f}{r.quantile(0.99):>9.2f}{r.throughput:>9.0f}"
        )
    print("\nratio API / raw (same run):")
    for api_name, raw_name in pairs:
        api, raw = by_name[api_name], by_name[raw_name]
        print(
            f"  {api_name:<24} p50 x{api.quantile(0.5) / raw.quantile(0.5):.1f}  "
            f"throughput x{api.throughput / raw.throughput:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000, help="requests per scenario")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients")
    parser.add_argument("--rows", type=int, default=10_000, help="products in the bench database")
    args = parser.parse_args()
    os.environ["CATALOG_POSTGRES_DB"] = BENCH_DB
    os.environ.setdefault("CATALOG_RATE_LIMIT_PER_MINUTE", "0")
    print(f"preparing {BENCH_DB} with {args.rows} products ...", flush=True)
    ids = prepare_database(args.rows)
    port = free_port()
    api = start_api(port, Path(f"/tmp/bench-products-api-{port}.log"))
    try:
        print(f"API then psycopg ({args.requests} requests each, {args.concurrency} clients) ...", flush=True)
        results = measure(f"http://127.0.0.1:{port}", ids, args.requests, args.concurrency)
    finally:
        api.terminate()
        api.wait(timeout=20)
    report(results)


if __name__ == "__main__":
    main()
