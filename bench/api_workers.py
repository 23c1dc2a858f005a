"""The API with one worker and with the default (one per core), side by side, against the raw engines.

    .venv/bin/python -m bench.api_workers --prepare 20000          # seed a scratch catalog first
    .venv/bin/python -m bench.api_workers --requests 2000 --rounds 3

Starts `catalog api --workers 1` and `catalog api` (CATALOG_API_WORKERS, default one per core) on free ports
against the search bench's scratch database and alias, then loads both from this process with 16 clients:
`GET /products/{id}` (random ids) and `/search` uncached (the search bench's query mix). Every round runs
each pass once per server, plus the raw baselines (psycopg SELECT, OpenSearch `_search` with the identical
bodies), so all of them see the same machine load. Prints p50/p99 and req/s per pass, the ratio of the
default to one worker, and each to its raw baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import httpx
from psycopg_pool import AsyncConnectionPool

from bench.api_process import free_port
from bench.products_api import SELECT_SQL
from bench.search import (
    BENCH_ALIAS,
    BENCH_DB,
    PassResult,
    merge,
    prepare,
    replay,
    run_pass,
    use_environment,
)
from bench.search_bodies import record_bodies
from bench.search_queries import catalog_facts, make_queries

CATALOG = Path(sys.executable).parent / "catalog"


@contextmanager
def api_server(workers: int | None, log: Path) -> Iterator[str]:
    """`catalog api [--workers N]` on a free port with rate limits off; yields its URL, stops it on exit."""
    port = free_port()
    env = {**os.environ, "CATALOG_API_PORT": str(port), "CATALOG_RATE_LIMIT_PER_MINUTE": "0"}
    command = [str(CATALOG), "api", *(["--workers", str(workers)] if workers else [])]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"`{' '.join(command)}` did not come up; see {log}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(30)


async def measure(args: argparse.Namespace, servers: dict[str, str]) -> dict[str, PassResult]:
    from api.auth.security import issue_token
    from catalog.settings import get_settings

    settings = get_settings()
    facts = catalog_facts(settings.postgres_dsn)
    queries = make_queries(facts, args.distinct, random.Random(args.seed))
    bodies = record_bodies(queries)
    search_paths = [f"/search?{urlencode(params)}" for params in queries]
    rng = random.Random(args.seed)
    import psycopg

    with psycopg.connect(settings.postgres_dsn) as conn:
        all_ids = [r[0] for r in conn.execute("SELECT id FROM products ORDER BY id")]
    ids = [rng.choice(all_ids) for _ in range(5000)]
    token = issue_token(settings, uuid.uuid4(), ["admin"])
    limits = httpx.Limits(max_connections=args.concurrency * 4, max_keepalive_connections=args.concurrency * 4)
    raw_index = f"{settings.opensearch_url}/{settings.index_alias}"

    async with (
        httpx.AsyncClient(limits=limits, timeout=60, headers={"Authorization": f"Bearer {token}"}) as http,
        AsyncConnectionPool(settings.postgres_dsn, min_size=args.concurrency, max_size=args.concurrency) as pool,
    ):

        def get_product(base: str) -> Callable[[int], Awaitable[bool]]:
            async def send(i: int) -> bool:
                return (await http.get(f"{base}/products/{ids[i % len(ids)]}")).status_code == 200

            return send

        def search(base: str) -> Callable[[int], Awaitable[bool]]:
            async def send(i: int) -> bool:
                path = search_paths[i % len(search_paths)]
                return (await http.get(base + path, headers={"cache-control": "no-cache"})).status_code == 200

            return send

        async def raw_select(i: int) -> bool:
            async with pool.connection() as conn:
                return (await (await conn.execute(SELECT_SQL, (ids[i % len(ids)],))).fetchone()) is not None

        async def raw_opensearch(i: int) -> bool:
            return await replay(http, raw_index, bodies[i % len(bodies)])

        passes: dict[str, Callable[[int], Awaitable[bool]]] = {"psycopg SELECT by id": raw_select,
                                                               "OpenSearch _search": raw_opensearch}
        for label, base in servers.items():
            passes[f"GET /products/{{id}}, {label}"] = get_product(base)
            passes[f"/search uncached, {label}"] = search(base)
        bound = {"concurrency": args.concurrency, "max_seconds": args.max_seconds}
        for name, send in passes.items():
            await run_pass(f"warm-up {name}", send, min(200, args.requests), **bound)
        results = {name: PassResult(name) for name in passes}
        for n in range(args.rounds):
            print(f"round {n + 1}/{args.rounds} ...", flush=True)
            share = args.requests // args.rounds
            for name, send in passes.items():
                merge(results[name], await run_pass(name, send, share, **bound))
        return results


def report(results: dict[str, PassResult], servers: dict[str, str], concurrency: int) -> None:
    one, default = servers
    print(f"\n{concurrency} concurrent clients; ratios are of medians measured in the same rounds\n")
    print(f"{'pass':<44}{'ok':>7}{'err':>5}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'rps/raw':>9}")
    for name, r in results.items():
        raw = results["OpenSearch _search" if "search" in name else "psycopg SELECT by id"]
        print(f"{name:<44}{len(r.latencies):>7}{r.errors:>5}{r.pct(50):>9.1f}{r.pct(99):>9.1f}{r.throughput:>9.0f}"
              f"{r.throughput / raw.throughput:>9.2f}")
    print()
    for what in ("GET /products/{id}", "/search uncached"):
        a, b = results[f"{what}, {one}"], results[f"{what}, {default}"]
        print(f"{what}: {default} vs {one}: req/s x{b.throughput / a.throughput:.2f}, "
              f"p50 x{b.pct(50) / a.pct(50):.2f}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=BENCH_DB, help=f"catalog database (default {BENCH_DB})")
    parser.add_argument("--alias", default=BENCH_ALIAS, help=f"index alias (default {BENCH_ALIAS})")
    parser.add_argument("--prepare", type=int, metavar="N", help="first drop, seed N products and index them")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=2000, help="requests per pass, split over the rounds")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (same machine load for all)")
    parser.add_argument("--distinct", type=int, default=400, help="distinct search queries in the mix")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the queries and ids")
    parser.add_argument("--max-seconds", type=float, default=60, help="time bound of each pass per round")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    use_environment(args.database, args.alias)
    if args.prepare:
        prepare(args.prepare)
    cores = os.cpu_count() or 1
    default_workers = int(os.environ.get("CATALOG_API_WORKERS", cores))
    labels = ("1 worker", f"{default_workers} workers (default)")
    with api_server(1, Path("/tmp/bench-api-1-worker.log")) as one, \
            api_server(None, Path("/tmp/bench-api-default-workers.log")) as default:
        servers = dict(zip(labels, (one, default), strict=True))
        results = asyncio.run(measure(args, servers))
    report(results, servers, args.concurrency)


if __name__ == "__main__":
    main()
