"""BENCHMARKS.md: the tables of a benchmark run (each scenario next to its raw baseline, the scaling summary,
the peak memory of the processes started) and the run's context (machine, engines, commit)."""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bench.memory import MemorySampler, ProcessPeak

ROOT = Path(__file__).resolve().parent.parent

Figures = dict[str, float]


@dataclass(frozen=True)
class Row:
    """One line of a scenario's table: a figure, optionally its raw baseline (same unit, same repeat)."""

    label: str
    key: str
    unit: str
    raw_key: str | None = None
    headline: bool = False  # also shown in the scaling section


class Shown(Protocol):
    """What the report needs of a scenario: its name, its section title and the rows of its table."""

    @property
    def name(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def rows(self) -> Callable[[list[Figures]], list[Row]]: ...


# --- each scenario's table: its figures and their raw baselines ----------------------------------------------------


def search_rows(_: list[Figures]) -> list[Row]:
    rows = []
    for name in ("API uncached", "API cached"):
        for metric, unit in (("p50 ms", "ms"), ("p95 ms", "ms"), ("p99 ms", "ms"), ("req/s", "req/s")):
            rows.append(Row(f"{name} {metric.split()[0]}", f"{name}: {metric}", unit,
                            f"OpenSearch direct: {metric}", headline=metric in ("p50 ms", "req/s")))
    for metric, unit in (("p50 ms", "ms"), ("req/s", "req/s")):  # the engine's floor under the same load
        rows.append(Row(f"API uncached {metric.split()[0]} vs the minimal body", f"API uncached: {metric}", unit,
                        f"OpenSearch minimal body: {metric}"))
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


# --- the report ----------------------------------------------------------------------------------------------------


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


def scenario_table(scenario: Shown, repeats: list[Figures]) -> list[str]:
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


def scaling_lines(results: list[ScaleResult], scenarios: Sequence[Shown]) -> list[str]:
    header = "| scenario | figure | " + " | ".join(f"{r.scale} ({r.products:,})" for r in results) + " |"
    lines = [header, "|---|---|" + "---:|" * len(results)]
    lines.append("| setup | seed (COPY) s | " + " | ".join(f"{r.seed_seconds:.1f}" for r in results) + " |")
    for scenario in scenarios:
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
                 context: dict[str, str], scenarios: Sequence[Shown]) -> None:
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
        lines += [*scaling_lines(results, scenarios), ""]
    for result in results:
        lines += [f"## {result.scale}: {result.products:,} products", "",
                  f"Seeded by `db/seed.py` (COPY) into a scratch database in {result.seed_seconds:.1f} s; "
                  f"this scale took {result.minutes:.1f} min; code at its start: {result.commit}.", ""]
        for scenario in scenarios:
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
