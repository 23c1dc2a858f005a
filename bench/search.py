"""Storefront search benchmark: `/search` through the API vs the same bodies sent straight to OpenSearch.

The raw pass replays, for each query, every request the API sends for it (the exact first pass, and the probe
and second pass when it came back short; recorded by running the API's own code once, `bench/search_bodies.py`),
one after the other: the API's overhead is what it adds to the same engine work.

A mixed query set (text, typos, category browsing, brand/attribute/price filters, sorts, page 2) is built from
the catalog's own brands, categories, attributes and name words. Passes: raw OpenSearch, API uncached
(`Cache-Control: no-cache`, honoured by the API) and API cached (after one warming pass), interleaved in
`--rounds` rounds (raw, uncached, cached, raw, ...) so a change in the machine's load hits all three alike.
Clients run in this process (asyncio + httpx); the API runs in its own uvicorn process, started here unless
`--api-url` is given.

Usage:
  .venv/bin/python -m bench.search --prepare 10000     # scratch database + alias, seeded and indexed
  .venv/bin/python -m bench.search --concurrency 32 --requests 3000
  .venv/bin/python -m bench.search --database catalog --alias products --api-url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import psycopg

from bench.api_process import start_api
from bench.search_bodies import Sent, record_bodies
from bench.search_queries import MIXES, Params, catalog_facts, make_queries
from bench.stats import nearest_rank

BENCH_DB = "catalog_searchbench"
BENCH_ALIAS = "searchbench_products"
BENCH_PORT = 8077
UNGROUPED = "API uncached, ungrouped"
MINIMAL = "OpenSearch minimal body"


def use_environment(database: str, alias: str) -> None:
    """Point the catalog settings (this process and the API it spawns) at the bench database and alias."""
    os.environ["CATALOG_POSTGRES_DB"] = database
    os.environ["CATALOG_INDEX_ALIAS"] = alias


# --- preparation ---------------------------------------------------------------------------------------------

def prepare(products: int) -> None:
    """A fresh scratch database seeded with `products` products, indexed behind the bench alias."""
    from catalog.settings import get_settings
    from db.migrate import upgrade
    from db.seed import seed
    from indexer.reindex import reindex
    from stack.postgres_server import recreate_database

    settings = get_settings()
    recreate_database(settings, settings.postgres_db)
    upgrade(settings.database_url)
    started = time.perf_counter()
    seed(settings.database_url, products)
    print(f"seeded {products} products in {time.perf_counter() - started:.1f}s", flush=True)
    started = time.perf_counter()
    reindex(settings)
    print(f"indexed in {time.perf_counter() - started:.1f}s", flush=True)
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute("UPDATE outbox SET processed_at = now() WHERE processed_at IS NULL")


CONTENT_TYPES = {"_search": "application/json", "_msearch": "application/x-ndjson"}


async def replay(http: httpx.AsyncClient, index_url: str, sent: Sequence[Sent]) -> bool:
    """One query's requests, as the API sent them, one after the other, straight to OpenSearch."""
    for endpoint, body, filter_path in sent:
        response = await http.post(f"{index_url}/{endpoint}?filter_path={filter_path}", content=body,
                                   headers={"content-type": CONTENT_TYPES[endpoint]})
        if response.status_code != 200:
            return False
    return True


# --- load --------------------------------------------------------------------------------------------------------

@dataclass
class PassResult:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def pct(self, p: float) -> float:
        return nearest_rank(self.latencies, p / 100) * 1000

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


async def run_pass(name: str, send: Callable[[int], Awaitable[bool]], requests: int, concurrency: int,
                   max_seconds: float = 120.0) -> PassResult:
    """At most `requests` requests, and none started after `max_seconds`."""
    result = PassResult(name)
    next_index = 0
    deadline = time.perf_counter() + max_seconds

    async def worker() -> None:
        nonlocal next_index
        while next_index < requests and time.perf_counter() < deadline:
            i = next_index
            next_index += 1
            started = time.perf_counter()
            ok = await send(i)
            if ok:
                result.latencies.append(time.perf_counter() - started)
            else:
                result.errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


def merge(into: PassResult, part: PassResult) -> None:
    into.latencies += part.latencies
    into.errors += part.errors
    into.seconds += part.seconds


async def run_all(args: argparse.Namespace, api_url: str, os_url: str, alias: str,
                  queries: list[Params], bodies: list[list[Sent]]) -> list[PassResult]:
    """Raw, uncached and cached passes, and the minimal storefront body (`minimal_body`) under the same load: the
    engine's floor at this concurrency on this machine, whatever the features. Interleaved in `args.rounds` rounds
    so that all see the same machine load (this machine is shared); each pass's figures pool its rounds."""
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        async def raw(i: int) -> bool:
            return await replay(http, f"{os_url}/{alias}", bodies[i % len(bodies)])

        floor = [[("_search", minimal_body(p), "took")] for p in queries]

        async def minimal(i: int) -> bool:
            return await replay(http, f"{os_url}/{alias}", floor[i % len(floor)])

        urls = [f"{api_url}/search?{urlencode(params)}" for params in queries]

        def api(headers: dict[str, str], suffix: str = "") -> Callable[[int], Awaitable[bool]]:
            async def send(i: int) -> bool:
                response = await http.get(urls[i % len(urls)] + suffix, headers=headers)
                return response.status_code == 200
            return send

        uncached = api({"cache-control": "no-cache"})
        cached = api({})
        bound = {"concurrency": args.concurrency, "max_seconds": args.max_seconds}
        await run_pass("warm-up", raw, min(200, args.requests), **bound)
        await run_pass("warm-up", uncached, min(200, args.requests), **bound)
        await run_pass("fill cache", cached, len(queries), **bound)
        passes = [("OpenSearch direct", raw), ("API uncached", uncached), ("API cached", cached),
                  (MINIMAL, minimal)]
        if args.compare_grouping:  # the same queries, each variant an item of its own
            passes.append((UNGROUPED, api({"cache-control": "no-cache"}, "&group=false")))
        results = [PassResult(name) for name, _ in passes]
        rounds = max(1, args.rounds)
        for n in range(rounds):
            share = args.requests // rounds + (n < args.requests % rounds)
            for result, (name, send) in zip(results, passes, strict=True):
                merge(result, await run_pass(name, send, share, **bound))
        return results


def minimal_body(params: Params) -> bytes:
    """The least a storefront needs: BM25 multi_match (name^3, brand^2, description), the shopper's category and
    brand filters, brand and category terms facets, 20 hits. The "feature tax" is the catalog's cost over this."""
    single = dict(params)
    must: dict[str, object] = ({"multi_match": {"query": single["q"], "fields": ["name^3", "brand^2", "description"]}}
                               if "q" in single else {"match_all": {}})
    filters: list[dict[str, object]] = [{"term": {"status": "active"}}]
    if "category" in single:
        filters.append({"term": {"category_path": single["category"]}})
    brands = [v for k, v in params if k == "brand"]
    if brands:
        filters.append({"terms": {"brand.keyword": brands}})
    body = {"query": {"bool": {"must": must, "filter": filters}}, "size": 20,
            "aggs": {"brand": {"terms": {"field": "brand.keyword", "size": 20}},
                     "category": {"terms": {"field": "category_path", "size": 50}}}}
    return json.dumps(body).encode()


async def feature_tax(args: argparse.Namespace, api_url: str, os_url: str, alias: str, queries: list[Params],
                      bodies: list[list[Sent]]) -> list[PassResult]:
    """One client, every query distinct: the minimal body and the catalog's bodies (every pass the API sends)
    straight to OpenSearch, and `/search` uncached, each for browse-only (no `q`) and text queries, interleaved in
    rounds."""
    kinds = {"browse": [i for i, p in enumerate(queries) if "q" not in dict(p)],
             "text": [i for i, p in enumerate(queries) if "q" in dict(p)]}
    minimal = [[("_search", minimal_body(p), "took")] for p in queries]
    urls = [f"{api_url}/search?{urlencode(p)}" for p in queries]
    async with httpx.AsyncClient(timeout=60) as http:
        def raw(chosen: list[list[Sent]], picks: list[int]) -> Callable[[int], Awaitable[bool]]:
            async def send(i: int) -> bool:
                return await replay(http, f"{os_url}/{alias}", chosen[picks[i % len(picks)]])
            return send

        def api(picks: list[int]) -> Callable[[int], Awaitable[bool]]:
            async def send(i: int) -> bool:
                response = await http.get(urls[picks[i % len(picks)]], headers={"cache-control": "no-cache"})
                return response.status_code == 200
            return send

        passes = []
        for kind, picks in kinds.items():
            if picks:
                passes += [(f"{kind}: minimal body", raw(minimal, picks)),
                           (f"{kind}: catalog bodies", raw(bodies, picks)),
                           (f"{kind}: /search uncached", api(picks))]
        results = {name: PassResult(name) for name, _ in passes}
        per_round = max(1, args.tax_requests // max(1, args.rounds))
        for _ in range(max(1, args.rounds)):
            for name, send in passes:
                merge(results[name], await run_pass(name, send, per_round, concurrency=1,
                                                    max_seconds=args.max_seconds))
        return list(results.values())


def print_tax(results: list[PassResult]) -> None:
    by_name = {r.name: r for r in results}
    print("\nfeature tax, one client, distinct queries")
    print(f"{'pass':<30}{'ok':>6}{'p50 ms':>9}{'p95 ms':>9}{'x minimal':>11}")
    for r in results:
        base = by_name[r.name.split(":")[0] + ": minimal body"]
        print(f"{r.name:<30}{len(r.latencies):>6}{r.pct(50):>9.1f}{r.pct(95):>9.1f}{r.pct(50) / base.pct(50):>11.2f}")


def figures(results: list[PassResult]) -> dict[str, float]:
    """Flat numbers per pass: `<pass>: p50 ms`, `p95 ms`, `p99 ms`, `req/s`, `errors`."""
    out: dict[str, float] = {}
    for r in results:
        out |= {f"{r.name}: p50 ms": r.pct(50), f"{r.name}: p95 ms": r.pct(95), f"{r.name}: p99 ms": r.pct(99),
                f"{r.name}: req/s": r.throughput, f"{r.name}: errors": float(r.errors)}
    return out


def measure(args: argparse.Namespace, api_url: str) -> list[PassResult]:
    """Build the query mix from the catalog the settings point at and run every pass against `api_url`: the 16-client
    passes, then (unless `--tax-requests 0`) the single-client feature-tax passes."""
    from catalog.settings import get_settings

    settings = get_settings()
    facts = catalog_facts(settings.postgres_dsn)
    queries = make_queries(facts, args.distinct, random.Random(args.seed), args.mix)
    bodies = record_bodies(queries)
    results = asyncio.run(run_all(args, api_url, settings.opensearch_url, settings.index_alias, queries, bodies))
    if args.tax_requests:
        results += asyncio.run(feature_tax(args, api_url, settings.opensearch_url, settings.index_alias, queries,
                                           bodies))
    return results


def print_table(results: list[PassResult], concurrency: int, distinct: int) -> None:
    raw = results[0]
    print(f"\n{concurrency} concurrent clients, {distinct} distinct queries\n")
    print(f"{'pass':<24}{'ok':>7}{'err':>5}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>9}"
          f"{'p50/raw':>9}{'rps/raw':>9}")
    for r in results:
        print(f"{r.name:<24}{len(r.latencies):>7}{r.errors:>5}{r.pct(50):>9.1f}{r.pct(95):>9.1f}{r.pct(99):>9.1f}"
              f"{r.throughput:>9.0f}{r.pct(50) / raw.pct(50):>9.2f}{r.throughput / raw.throughput:>9.2f}")
    if raw.latencies:
        print(f"\n(median of raw: {statistics.median(raw.latencies) * 1000:.1f} ms)")
    by_name = {r.name: r for r in results}
    if UNGROUPED in by_name and by_name[UNGROUPED].latencies:
        grouped, flat = by_name["API uncached"], by_name[UNGROUPED]
        print(f"grouping on vs off (API uncached): p50 x{grouped.pct(50) / flat.pct(50):.2f}, "
              f"req/s x{grouped.throughput / flat.throughput:.2f}")


# --- the API server ---------------------------------------------------------------------------------------------



def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=BENCH_DB, help=f"catalog database (default {BENCH_DB})")
    parser.add_argument("--alias", default=BENCH_ALIAS, help=f"index alias (default {BENCH_ALIAS})")
    parser.add_argument("--prepare", type=int, metavar="N", help="first drop, seed N products and index them")
    parser.add_argument("--api-url", help="use this running API instead of starting one (rate limits apply!)")
    parser.add_argument("--port", type=int, default=BENCH_PORT, help="port of the API this bench starts")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients (16-32)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per measured pass")
    parser.add_argument("--distinct", type=int, default=400, help="distinct queries in the mix")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the query mix")
    parser.add_argument("--mix", choices=MIXES, default="shopper",
                        help="shopper: words of one product's name, its own filters (15%% dead ends); "
                             "random: every word and filter drawn independently (mostly dead ends)")
    parser.add_argument("--max-seconds", type=float, default=120, help="time bound of each pass per round")
    parser.add_argument("--tax-requests", type=int, default=400,
                        help="single-client requests per feature-tax pass (0: skip the feature tax)")
    parser.add_argument("--compare-grouping", action="store_true",
                        help="also run /search with group=false (every variant its own item): the cost of grouping")
    parser.add_argument("--rounds", type=int, default=4,
                        help="interleave raw, uncached and cached in this many rounds (same machine load)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> tuple[list[PassResult], dict[str, float]]:
    """The whole CLI flow (environment, optional preparation, API, passes); returns the passes and their figures."""
    use_environment(args.database, args.alias)
    if args.prepare:
        prepare(args.prepare)
    process = None
    api_url = args.api_url
    if api_url is None:
        process = start_api(args.port, Path(f"/tmp/bench-search-api-{args.port}.log"))
        api_url = f"http://127.0.0.1:{args.port}"
    try:
        results = measure(args, api_url)
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)
    return results, figures(results)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    results, _ = run(args)
    load = [r for r in results if ":" not in r.name]
    print_table(load, args.concurrency, args.distinct)
    if len(load) < len(results):
        print_tax([r for r in results if ":" in r.name])


if __name__ == "__main__":
    main()
