"""The benchmark suite: every scenario next to its raw-engine baseline, at one or more catalog sizes -> BENCHMARKS.md.

    .venv/bin/python bench/run_all.py --scale 10k --repeat 3            # or: make bench
    .venv/bin/python bench/run_all.py --scale 10k --scale 100k
    .venv/bin/python bench/run_all.py --quick --only search              # smoke run of one scenario

Each scale is seeded (db/seed.py, COPY) into its own scratch database `catalog_bench_<scale>` and index alias
`bench_<scale>_products` (never the dev `catalog` database). The API, the indexer and the dashboard run as their
own processes; the load comes from this process over loopback, bounded in requests and seconds. Every scenario
runs `--repeat` times after a warm-up, and each repeat measures the catalog and its raw baseline side by side.
The peak memory (VmHWM) of every API, indexer and dashboard process started is sampled from /proc. See
bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shlex
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.memory import MemorySampler  # noqa: E402
from bench.report import (  # noqa: E402
    Figures,
    Row,
    ScaleResult,
    bulk_rows,
    dashboard_rows,
    engines,
    git_commit,
    indexing_rows,
    integrations_rows,
    lag_rows,
    machine,
    products_rows,
    search_rows,
    write_report,
)

START = time.monotonic()


def say(message: str) -> None:
    elapsed = time.monotonic() - START
    print(f"[{int(elapsed // 60):3d}:{int(elapsed % 60):02d}] {message}", flush=True)


# --- what is measured (how it is shown: the *_rows of bench/report.py) -------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    scale: str
    products: int
    settings: Any = None
    api_url: str = ""
    notes: dict[str, str] = field(default_factory=dict)  # scenario -> parameters actually used


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    measure: Callable[[Context], list[Figures]]  # one dict of figures per repeat
    rows: Callable[[list[Figures]], list[Row]]


# --- the scenarios -----------------------------------------------------------------------------------------------


def measure_indexing(ctx: Context) -> list[Figures]:
    from bench import indexer_throughput

    ctx.notes["indexing"] = (f"backlog of {ctx.products:,} outbox changes drained by `indexer run --workers 2 "
                             "--batch-size 500` into an empty index; raw: the same documents as NDJSON, 500 per "
                             "`_bulk`, one refresh; full reindex: `indexer.reindex` (page 500, refresh off)")
    out = []
    for n in range(ctx.args.repeat):
        say(f"  indexing repeat {n + 1}/{ctx.args.repeat}")
        out.append(indexer_throughput.run(ctx.settings, workers=2, batch_size=500))
    return out


def measure_search(ctx: Context) -> list[Figures]:
    from bench import search

    requests = 300 if ctx.args.quick else 2000
    seconds = 20 if ctx.args.quick else 120
    args = search.parse_args(["--requests", str(requests), "--concurrency", "16", "--max-seconds", str(seconds),
                              "--tax-requests", "100" if ctx.args.quick else "400"])
    ctx.notes["search"] = (f"16 concurrent clients, up to {requests} requests or {seconds} s per pass, "
                           f"{args.distinct} distinct queries (text, typos, filters, facets, sorts, page 2); raw: "
                           "every body the API sends for the query (first pass, probe, second pass), POSTed to "
                           "`_search` in turn; cached = after one pass filled the cache; feature tax: one client, "
                           "every query distinct, browse (no q) and text apart, vs "
                           "a minimal storefront body (BM25 multi_match, category/brand filters, two terms facets)")
    out = []
    for n in range(ctx.args.repeat):
        say(f"  search repeat {n + 1}/{ctx.args.repeat}")
        figures = search.figures(search.measure(args, ctx.api_url))
        figures["errors"] = sum(v for k, v in figures.items() if k.endswith(": errors"))
        out.append(figures)
    return out


def measure_lag(ctx: Context) -> list[Figures]:
    from bench import indexer_lag

    duration = 5 if ctx.args.quick else 15
    ctx.notes["lag"] = (f"50 product updates/s for {duration} s through PostgreSQL with `indexer run --workers 2` "
                        "(visibility refresh); raw: the same documents written to `_bulk` without refresh, into "
                        "an index with the same refresh interval; a poller searches every 10 ms")
    out = []
    for n in range(ctx.args.repeat):
        say(f"  lag repeat {n + 1}/{ctx.args.repeat}")
        out.append(indexer_lag.run(ctx.settings, rate=50, duration=duration, workers=2))
    return out


def measure_products(ctx: Context) -> list[Figures]:
    import psycopg

    from bench import products_api

    requests = 300 if ctx.args.quick else 3000
    seconds = 20 if ctx.args.quick else 120
    with psycopg.connect(ctx.settings.postgres_dsn) as conn:
        ids = [int(r[0]) for r in conn.execute("SELECT id FROM products")]
    ids = random.Random(1).sample(ids, min(5000, len(ids)))
    ctx.notes["products"] = (f"16 concurrent clients, up to {requests} requests or {seconds} s each, GETs over "
                             f"{len(ids):,} random ids; raw: the same SELECT (product, category, stock sum) and "
                             "INSERT through an async psycopg pool of 16")
    out = []
    for n in range(ctx.args.repeat):
        say(f"  products repeat {n + 1}/{ctx.args.repeat}")
        out.append(products_api.figures(products_api.measure(ctx.api_url, ids, requests, 16, seconds)))
    return out


def measure_bulk_import(ctx: Context) -> list[Figures]:
    from bench import bulk_import

    cap = 1000 if ctx.args.quick else ctx.args.import_max
    count = min(ctx.products, cap) if cap else ctx.products
    chunk = min(5000, count)
    capped = f" (capped by --import-max {cap:,}; the catalog scale is {ctx.products:,})" if count < ctx.products else ""
    ctx.notes["bulk_import"] = (f"{count:,} products{capped}, JSON chunks of {chunk:,} sent one after another by one "
                                f"client to an API serving the scratch database `{bulk_import.BENCH_DB}`, emptied "
                                "before each repeat; raw: one COPY of the same rows")
    say(f"  bulk import of {count:,} products x {ctx.args.repeat}")
    return bulk_import.run(count, chunk, ctx.args.repeat)


def measure_integrations(ctx: Context) -> list[Figures]:
    from bench import integrations

    cap = 1000 if ctx.args.quick else ctx.args.import_max
    count = min(ctx.products, cap) if cap else ctx.products
    writers, updates = (2, 50) if ctx.args.quick else (4, 500)
    ctx.notes["integrations"] = (f"a {count:,}-row CSV imported as a job in-process (scratch database "
                                 f"`{integrations.BENCH_DB}`), raw: one COPY of the same rows; webhook lag: "
                                 f"{writers} writers x {updates} committed price changes, price.changed delivered "
                                 "to a receiver on 127.0.0.1 by the webhook worker")
    say(f"  integrations: import of {count:,} rows, webhook lag x {ctx.args.repeat}")
    return integrations.run(count, writers, updates, ctx.args.repeat)


def measure_dashboard(ctx: Context) -> list[Figures]:
    import streamlit as st

    from bench import dashboard

    browser = not ctx.args.quick
    ctx.notes["dashboard"] = ("every page run by `streamlit.testing.v1.AppTest` (cold: empty cache, warm: cached)"
                              + ("; then opened in headless Chromium against `streamlit run` until every chart is "
                                 "drawn" if browser else "; no browser in --quick") + ". No raw baseline.")
    out = []
    for n in range(ctx.args.repeat):
        say(f"  dashboard repeat {n + 1}/{ctx.args.repeat}")
        st.cache_resource.clear()  # the engine and search client belong to the previous scale otherwise
        st.cache_data.clear()
        report = dashboard.run(runs=1, browser=browser)
        figures: Figures = {}
        for page, times in report["apptest_seconds"].items():
            figures[f"{page}: AppTest cold s"] = times["cold"]
            figures[f"{page}: AppTest warm s"] = times["warm"]
        for page, seconds in report.get("browser_seconds", {}).items():
            figures[f"{page}: browser s"] = seconds
        if "streamlit_peak_rss_mib" in report:
            figures["streamlit peak RSS MiB"] = report["streamlit_peak_rss_mib"]
        out.append(figures)
    return out


# Order matters: indexing leaves a complete index; the dashboard sees the seeded catalog before products adds rows.
SCENARIOS = [
    Scenario("indexing", "Indexing: backlog drain and full reindex vs raw `_bulk`", measure_indexing, indexing_rows),
    Scenario("lag", "Commit-to-searchable lag vs raw `_bulk` (the refresh interval floor)", measure_lag, lag_rows),
    Scenario("dashboard", "Dashboard: page render times and memory", measure_dashboard, dashboard_rows),
    Scenario("search", "Search: `/search` vs the same queries straight to OpenSearch", measure_search, search_rows),
    Scenario("products", "`GET /products/{id}` and `POST /products` vs psycopg", measure_products, products_rows),
    Scenario("bulk_import", "Bulk import: `POST /products/bulk` vs PostgreSQL `COPY`", measure_bulk_import,
             bulk_rows),
    Scenario("integrations", "Integrations: CSV import vs `COPY`, webhook delivery lag under writes",
             measure_integrations, integrations_rows),
]
NEEDS_API = {"search", "products"}

# --- one scale ---------------------------------------------------------------------------------------------------


def parse_scale(text: str) -> int:
    found = re.fullmatch(r"(\d+)([km]?)", text.strip().lower())
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r}: use e.g. 10k, 100k, 1m")
    return int(found.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[found.group(2)]


def use_scale(scale: str) -> Any:
    """Point this process (and every process it starts) at the scale's scratch database and alias."""
    from catalog.settings import get_settings

    os.environ["CATALOG_POSTGRES_DB"] = f"catalog_bench_{scale}"
    os.environ["CATALOG_INDEX_ALIAS"] = f"bench_{scale}_products"
    os.environ["CATALOG_RATE_LIMIT_PER_MINUTE"] = "0"
    get_settings.cache_clear()
    return get_settings()


def seed_scale(settings: Any, products: int, index_now: bool) -> float:
    """Fresh scratch database with `products` demo products (their outbox rows are the backlog); seconds taken."""
    import psycopg

    from db.migrate import upgrade
    from db.seed import seed
    from indexer.client import make_client
    from stack.postgres_server import recreate_database

    recreate_database(settings, settings.postgres_db)
    upgrade(settings.database_url)
    client = make_client(settings)
    client.indices.delete(index=f"{settings.index_alias}_v*", ignore_unavailable=True)
    client.close()
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        if time.monotonic() - last[0] > 15 or done == total:
            last[0] = time.monotonic()
            say(f"  seed {stage}: {done:,}/{total:,}")

    started = time.perf_counter()
    seed(settings.database_url, products, 42, progress)
    seconds = time.perf_counter() - started
    if index_now:  # the indexing scenario would otherwise build the index
        from indexer.reindex import reindex

        say("  indexing the catalog (reindex)")
        reindex(settings)
        with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
            conn.execute("UPDATE outbox SET processed_at = now() WHERE processed_at IS NULL")
    return seconds


def drop_scale(settings: Any) -> None:
    from indexer.client import make_client
    from stack.postgres_server import drop_database

    client = make_client(settings)
    client.indices.delete(index=f"{settings.index_alias}_v*", ignore_unavailable=True)
    client.close()
    drop_database(settings, settings.postgres_db)



def run_scale(args: argparse.Namespace, scale: str, sampler: MemorySampler) -> ScaleResult:
    from bench import api_process

    started = time.monotonic()
    products = parse_scale(scale)
    selected = [s for s in SCENARIOS if not args.only or s.name in args.only]
    result = ScaleResult(scale, products, commit=git_commit())
    ctx = Context(args, scale, products, settings=use_scale(scale), notes=result.notes)
    sampler.scale, sampler.scenario = scale, "setup"
    say(f"scale {scale}: seeding {products:,} products into {ctx.settings.postgres_db}")
    names = {s.name for s in selected}
    index_now = bool(names & {"search", "lag", "dashboard", "products"}) and "indexing" not in names
    result.seed_seconds = seed_scale(ctx.settings, products, index_now)
    api = None
    last_api_user = max((i for i, s in enumerate(selected) if s.name in NEEDS_API), default=-1)
    try:
        for i, scenario in enumerate(selected):
            sampler.scenario = scenario.name
            if scenario.name in NEEDS_API and api is None:
                port = api_process.free_port()  # a fixed port may be someone else's server on a shared machine
                say(f"  starting the API on 127.0.0.1:{port}")
                api = api_process.start_api(port, Path(f"/tmp/bench-run-all-api-{port}.log"))  # healthy or exits
                ctx.api_url = f"http://127.0.0.1:{port}"
            say(f"scale {scale}: {scenario.name}")
            try:
                result.repeats[scenario.name] = scenario.measure(ctx)
            except Exception as exc:  # one broken scenario must not cost the others their numbers
                traceback.print_exc()
                result.errors[scenario.name] = f"{type(exc).__name__}: {exc}"
            sampler.sample()
            if i == last_api_user and api is not None:
                api.terminate()
                api.wait(20)
                api = None
    finally:
        if api is not None:
            api.terminate()
            api.wait(20)
        sampler.sample()
        if not args.keep:
            drop_scale(ctx.settings)
    result.minutes = (time.monotonic() - started) / 60
    return result



# --- entry point -------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", action="append", type=str, metavar="10k|100k|1m",
                        help="catalog size; repeat the flag for several (default 10k)")
    parser.add_argument("--repeat", type=int, default=3, help="measured repeats per scenario (default 3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 repeat, small loads, no browser")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md", help="report (default BENCHMARKS.md)")
    parser.add_argument("--json", type=Path, help="also write every repeat's figures as JSON here")
    parser.add_argument("--only", action="append", choices=[s.name for s in SCENARIOS],
                        help="run only this scenario (repeat the flag for several)")
    parser.add_argument("--import-max", type=int, default=100_000,
                        help="at most this many products in the bulk import scenario (0: the whole scale; the API "
                             "imports ~3,000/s on 2 cores, so 1m would take ~6 min per repeat)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases and indices afterwards")
    args = parser.parse_args(argv)
    args.scale = args.scale or ["10k"]
    for scale in args.scale:
        parse_scale(scale)
    if args.quick:
        args.repeat = 1
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    command = shlex.join(["python", "bench/run_all.py", *(sys.argv[1:] if argv is None else argv)])
    context = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "command": command,
               "commit": git_commit(), "machine": machine(),
               "load_start": " ".join(Path("/proc/loadavg").read_text().split()[:3])}
    say(f"{command}\n{context['machine']}; commit {context['commit']}")
    from catalog.settings import get_settings
    from stack import manager

    manager.up(get_settings(), say=lambda _: None)
    sampler = MemorySampler()
    sampler.start()
    results = []
    try:
        for scale in args.scale:
            results.append(run_scale(args, scale, sampler))
    finally:
        sampler.stopped.set()
    context |= {"commit_end": git_commit(), "minutes": f"{(time.monotonic() - START) / 60:.1f}",
                "engines": engines(get_settings()), "load_end": " ".join(Path("/proc/loadavg").read_text().split()[:3])}
    write_report(args.output, args, results, sampler, context, SCENARIOS)
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2, default=str))
    say(f"wrote {args.output}")


if __name__ == "__main__":
    main()
