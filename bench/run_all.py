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
import platform
import random
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

Figures = dict[str, float]
START = time.monotonic()


def say(message: str) -> None:
    elapsed = time.monotonic() - START
    print(f"[{int(elapsed // 60):3d}:{int(elapsed % 60):02d}] {message}", flush=True)


# --- what is measured and how it is shown ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of a scenario's table: a figure, optionally its raw baseline (same unit, same repeat)."""

    label: str
    key: str
    unit: str
    raw_key: str | None = None
    headline: bool = False  # also shown in the scaling section


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


def search_rows(_: list[Figures]) -> list[Row]:
    rows = []
    for name in ("API uncached", "API cached"):
        for metric, unit in (("p50 ms", "ms"), ("p95 ms", "ms"), ("p99 ms", "ms"), ("req/s", "req/s")):
            rows.append(Row(f"{name} {metric.split()[0]}", f"{name}: {metric}", unit,
                            f"OpenSearch direct: {metric}", headline=metric in ("p50 ms", "req/s")))
    for kind in ("browse", "text"):  # one client, distinct queries: the catalog vs a minimal storefront body
        rows.append(Row(f"feature tax, {kind}: /search p50", f"{kind}: /search uncached: p50 ms", "ms",
                        f"{kind}: minimal body: p50 ms", headline=True))
        rows.append(Row(f"feature tax, {kind}: catalog bodies p50", f"{kind}: catalog bodies: p50 ms", "ms",
                        f"{kind}: minimal body: p50 ms"))
    rows += [Row("errors (all passes)", "errors", "count")]
    return rows


def lag_rows(_: list[Figures]) -> list[Row]:
    return [Row("commit -> searchable p50", "indexer: p50 ms", "ms", "raw _bulk: p50 ms", headline=True),
            Row("commit -> searchable p99", "indexer: p99 ms", "ms", "raw _bulk: p99 ms", headline=True),
            Row("commit -> outbox processed p50", "outbox processed: p50 ms", "ms"),
            Row("index.refresh_interval", "refresh interval ms", "ms"),
            Row("samples (indexer / raw)", "indexer: samples", "count", "raw _bulk: samples")]


def indexing_rows(_: list[Figures]) -> list[Row]:
    return [Row("backlog drain (indexer run)", "indexer drain: docs/s", "docs/s", "raw _bulk: docs/s", headline=True),
            Row("full reindex", "full reindex: docs/s", "docs/s", "raw _bulk: docs/s", headline=True),
            Row("backlog drain time", "indexer drain: s", "s", "raw _bulk: s"),
            Row("full reindex time", "full reindex: s", "s", "raw _bulk: s"),
            Row("indexer process peak RSS", "indexer peak RSS MiB", "MiB")]


def bulk_rows(_: list[Figures]) -> list[Row]:
    api = "API POST /products/bulk"
    return [Row(f"{api} vs COPY into scratch table", f"{api}: rows/s", "rows/s", "COPY into scratch table: rows/s",
                headline=True),
            Row(f"{api} vs COPY into products (triggers on)", f"{api}: rows/s", "rows/s",
                "COPY into products (triggers): rows/s"),
            Row("COPY into products vs COPY into scratch table", "COPY into products (triggers): rows/s", "rows/s",
                "COPY into scratch table: rows/s"),
            Row(f"{api} total time", f"{api}: s", "s")]


def integrations_rows(_: list[Figures]) -> list[Row]:
    return [Row("CSV import (job: parse, validate, COPY + merge)", "import CSV: rows/s", "rows/s",
                "COPY into scratch table: rows/s", headline=True),
            Row("CSV import time", "import CSV: s", "s"),
            Row("webhook delivery lag p50 (commit -> receiver)", "webhook lag: p50 ms", "ms", headline=True),
            Row("webhook delivery lag p99", "webhook lag: p99 ms", "ms", headline=True),
            Row("writes/s committed meanwhile", "writes/s during the bench", "writes/s"),
            Row("webhooks delivered", "webhooks delivered", "count")]


def products_rows(_: list[Figures]) -> list[Row]:
    rows = []
    for api, raw in (("API GET /products/{id}", "psycopg SELECT by id"), ("API POST /products", "psycopg INSERT")):
        for metric, unit in (("p50 ms", "ms"), ("p99 ms", "ms"), ("req/s", "req/s")):
            rows.append(Row(f"{api} {metric.split()[0]}", f"{api}: {metric}", unit, f"{raw}: {metric}",
                            headline=metric != "p99 ms"))
    return rows


def dashboard_rows(repeats: list[Figures]) -> list[Row]:
    keys = list(repeats[0]) if repeats else []
    rows = [Row(key.rsplit(" ", 1)[0].replace(": ", " "), key, key.rsplit(" ", 1)[-1], headline="browser" in key)
            for key in keys if key != "streamlit peak RSS MiB"]
    if "streamlit peak RSS MiB" in keys:
        rows.append(Row("streamlit process peak RSS", "streamlit peak RSS MiB", "MiB", headline=True))
    return rows


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


# --- process memory ----------------------------------------------------------------------------------------------


def process_role(cmdline: str) -> str | None:
    if "uvicorn" in cmdline and "api.app" in cmdline:
        return "API (uvicorn)"
    if "indexer run" in cmdline:  # `python -m catalog.cli indexer run` (and `catalog indexer run`)
        return "indexer"
    if "streamlit" in cmdline and " run " in cmdline:
        return "dashboard (streamlit)"
    return None


@dataclass
class ProcessPeak:
    scale: str
    role: str
    scenarios: list[str] = field(default_factory=list)
    mib: float = 0.0


class MemorySampler(threading.Thread):
    """Every 0.25 s, the VmHWM (peak RSS) of each API/indexer/dashboard process this process started."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.scale = self.scenario = "setup"
        self.processes: dict[int, ProcessPeak] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.25):
            self.sample()

    def sample(self) -> None:
        me = os.getpid()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) != me:
                    continue
                role = process_role((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
                if role is None:
                    continue
                status = (entry / "status").read_text()
            except (OSError, IndexError, ValueError):
                continue
            found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
            if found:
                peak = self.processes.setdefault(int(entry.name), ProcessPeak(self.scale, role))
                peak.mib = max(peak.mib, int(found.group(1)) / 1024)
                if self.scenario not in peak.scenarios:
                    peak.scenarios.append(self.scenario)


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


@dataclass
class ScaleResult:
    scale: str
    products: int
    seed_seconds: float = 0.0
    repeats: dict[str, list[Figures]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    minutes: float = 0.0
    commit: str = ""  # at the start of the scale: the API and indexer processes load the working tree then


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


# --- the report --------------------------------------------------------------------------------------------------


def spread(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def fmt(value: float, unit: str) -> str:
    if value != value:  # NaN
        return "n/a"
    if unit in ("req/s", "docs/s", "rows/s", "count") or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def row_cells(row: Row, repeats: list[Figures]) -> list[str] | None:
    values = [r[row.key] for r in repeats if row.key in r and r[row.key] == r[row.key]]  # NaN: no samples
    if not values:
        return None
    median, low, high = spread(values)
    cells = [row.label, row.unit, fmt(median, row.unit), f"{fmt(low, row.unit)} - {fmt(high, row.unit)}"]
    raws = [r[row.raw_key] for r in repeats if row.raw_key and row.raw_key in r]
    if row.raw_key and raws:
        ratios = [r[row.key] / r[row.raw_key] for r in repeats if r.get(row.raw_key)]
        cells += [f"{fmt(statistics.median(raws), row.unit)} ({row.raw_key.split(':')[0]})",
                  f"x{statistics.median(ratios):.2f}" if ratios else "n/a"]
    else:
        cells += ["—", "—"]
    return cells


def scenario_table(scenario: Scenario, repeats: list[Figures]) -> list[str]:
    lines = ["| figure | unit | median | min - max | raw baseline (median) | ratio to raw |",
             "|---|---|---:|---:|---|---:|"]
    for row in scenario.rows(repeats):
        cells = row_cells(row, repeats)
        if cells:
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def memory_lines(processes: list[ProcessPeak]) -> list[str]:
    lines = ["| scale | process | ran during | processes | peak RSS (VmHWM) median MiB | min - max MiB |",
             "|---|---|---|---:|---:|---:|"]
    grouped: dict[tuple[str, str, str], list[float]] = {}
    for peak in processes:
        grouped.setdefault((peak.scale, peak.role, ", ".join(peak.scenarios)), []).append(peak.mib)
    for (scale, role, scenarios), values in grouped.items():
        median, low, high = spread(values)
        lines.append(f"| {scale} | {role} | {scenarios} | {len(values)} | {median:,.0f} | {low:,.0f} - {high:,.0f} |")
    return lines


def scaling_lines(results: list[ScaleResult]) -> list[str]:
    header = "| scenario | figure | " + " | ".join(f"{r.scale} ({r.products:,})" for r in results) + " |"
    lines = [header, "|---|---|" + "---:|" * len(results)]
    lines.append("| setup | seed (COPY) s | " + " | ".join(f"{r.seed_seconds:.1f}" for r in results) + " |")
    for scenario in SCENARIOS:
        all_repeats = [r.repeats.get(scenario.name, []) for r in results]
        rows = next((scenario.rows(reps) for reps in all_repeats if reps), [])
        for row in rows:
            if not row.headline:
                continue
            cells = []
            for repeats in all_repeats:
                cell = row_cells(row, repeats) if repeats else None
                cells.append("—" if cell is None else cell[2] + ("" if cell[5] == "—" else f" ({cell[5]})"))
            if any(c != "—" for c in cells):
                lines.append(f"| {scenario.name} | {row.label} ({row.unit}) | " + " | ".join(cells) + " |")
    return lines


def machine() -> str:
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
    model = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    cpu = model.group(1).strip() if model else platform.processor() or "unknown CPU"
    return f"{os.cpu_count()} cores ({cpu}), {total_kb / 1024 / 1024:.1f} GiB RAM, {platform.system()} " \
           f"{platform.release()}, Python {platform.python_version()}"


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    return f"`{commit}`" + (f" (plus uncommitted changes to {len(dirty)} tracked files)" if dirty else "")


def engines(settings: Any) -> str:
    import httpx
    import psycopg

    try:
        with psycopg.connect(settings.admin_dsn) as c:
            pg = str(c.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        info = httpx.get(settings.opensearch_url, timeout=5).json()
        return f"PostgreSQL {pg}, OpenSearch {info['version']['number']}"
    except Exception as exc:  # informational only
        return f"unknown ({exc})"


def write_report(path: Path, args: argparse.Namespace, results: list[ScaleResult], sampler: MemorySampler,
                 context: dict[str, str]) -> None:
    smoke = " **Smoke run (--quick): not representative.**" if args.quick else ""
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/run_all.py`; every number below comes from the run described here (nothing is edited "
        f"by hand). How to read it: [bench/README.md](bench/README.md).{smoke}",
        "",
        f"- Date: {context['date']} (total {context['minutes']} min)",
        f"- Command: `{context['command']}`",
        f"- Commit: {context['commit']}",
        *([f"- **The code changed during the run** (at the end: {context['commit_end']}): compare scales with care"]
          if context["commit_end"] != context["commit"] else []),
        f"- Machine: {context['machine']}; load average {context['load_start']} at start, "
        f"{context['load_end']} at the end (a shared machine: compare ratios, measured side by side)",
        f"- Engines: {context['engines']}",
        f"- Repeats: {args.repeat} per scenario after a warm-up; median and min - max over the repeats; the "
        "ratio is the median of the per-repeat ratios (catalog / raw, measured in the same repeat)",
        "",
    ]
    if len(results) > 0:
        lines += ["## Scaling", "", "Median of each headline figure at each scale (ratio to raw in brackets).", ""]
        lines += [*scaling_lines(results), ""]
    for result in results:
        lines += [f"## {result.scale}: {result.products:,} products", "",
                  f"Seeded by `db/seed.py` (COPY) into a scratch database in {result.seed_seconds:.1f} s; "
                  f"this scale took {result.minutes:.1f} min; code at its start: {result.commit}.", ""]
        for scenario in SCENARIOS:
            if scenario.name in result.errors:
                lines += [f"### {scenario.title}", "", f"**Failed:** `{result.errors[scenario.name]}`", ""]
            elif scenario.name in result.repeats:
                lines += [f"### {scenario.title}", "", result.notes.get(scenario.name, ""), ""]
                lines += [*scenario_table(scenario, result.repeats[scenario.name]), ""]
    lines += ["## Peak memory of the processes started", "",
              "VmHWM (the kernel's high-water mark of resident memory) from /proc/<pid>/status, sampled every "
              "0.25 s for every API, indexer and streamlit process the suite started; processes of the same kind "
              "that ran during the same scenarios are grouped (one per repeat).", ""]
    lines += [*memory_lines(list(sampler.processes.values())), ""]
    path.write_text("\n".join(lines))


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
    write_report(args.output, args, results, sampler, context)
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2, default=str))
    say(f"wrote {args.output}")


if __name__ == "__main__":
    main()
