"""Dashboard benchmark: render time per page and the Streamlit process's peak memory, against a given database.

Render time is measured twice: server side with `streamlit.testing.v1.AppTest` (the page script with its
queries; cold = empty cache, warm = cached), and in a real headless Chromium driven by Playwright (navigation
until every chart is drawn and the page has settled). Peak RSS is the `streamlit run` process's VmHWM after the
browser has opened every page. The browser and server helpers here are also what
tests/dashboard/test_dashboard_browser.py uses.

    python -m bench.dashboard --database catalog_dash100k
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.api_process import free_port
from dashboard.serve import APP, streamlit_command
from stack.manager import CHROMIUM
from stack.processes import stop_child

if TYPE_CHECKING:
    from playwright.sync_api import Page

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Debian's chromium as Playwright launches it (Playwright adds --headless and its own automation flags).
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                  "--no-first-run", "--disable-component-update", "--disable-sync")

# --- a headless Chromium driven by Playwright ---------------------------------------------------------------------

# Streamlit's markers: the status widget is shown while the script runs, skeletons while elements are pending.
RUNNING = '[data-testid="stStatusWidget"], [data-testid="stSkeleton"]'
CHART = '[data-testid="stPlotlyChart"]'
EXCEPTION = '[data-testid="stException"]'
TRACEBACK = "Traceback (most recent call last)"
SETTLE_MS = 1000  # rendered and nothing started running again for this long: the page has settled


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[Page]:
    """One page of a headless Debian Chromium (launched by Playwright with a fresh empty profile)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_FLAGS))
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def open_page(page: Page, url: str, min_charts: int = 0, timeout: float = 60) -> tuple[float, dict[str, Any]]:
    """Navigate and wait until the page is rendered with at least `min_charts` charts drawn (or shows an
    exception); returns (seconds until it settled, page state: title, charts, drawn, exceptions[, timed_out])."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    started = time.perf_counter()
    deadline = started + timeout
    page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
    try:
        while True:
            _wait_rendered(page, min_charts, lambda: max(deadline - time.perf_counter(), 0.001) * 1000)
            rendered = time.perf_counter()
            try:  # settled unless Streamlit starts running again (a rerun, a fragment) within SETTLE_MS
                page.locator(RUNNING).first.wait_for(state="attached", timeout=SETTLE_MS)
            except PlaywrightTimeout:
                return rendered - started, page_state(page)
    except PlaywrightTimeout:
        return time.perf_counter() - started, {**page_state(page), "timed_out": True}


def _wait_rendered(page: Page, min_charts: int, remaining_ms: Callable[[], float]) -> None:
    """Title shown, script finished, `min_charts` charts there and each one drawn; or an exception shown."""
    page.locator(f"h1, {EXCEPTION}").first.wait_for(timeout=remaining_ms())
    if _exceptions(page):
        return
    page.locator(RUNNING).first.wait_for(state="detached", timeout=remaining_ms())
    charts = page.locator(CHART)
    if min_charts:
        charts.nth(min_charts - 1).wait_for(timeout=remaining_ms())
    for chart in charts.all():
        chart.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=remaining_ms())


def page_state(page: Page) -> dict[str, Any]:
    charts = page.locator(CHART)
    return {"title": page.locator("h1").count() > 0, "charts": charts.count(),
            "drawn": charts.filter(has=page.locator(".js-plotly-plot .main-svg")).count(),
            "exceptions": _exceptions(page)}


def _exceptions(page: Page) -> int:
    return page.locator(EXCEPTION).count() + (1 if page.get_by_text(TRACEBACK).count() else 0)


# --- the real dashboard server ------------------------------------------------------------------------------------


@contextmanager
def streamlit_server(env: dict[str, str], port: int | None = None, timeout: float = 60) -> Iterator[tuple[str, int]]:
    """`streamlit run dashboard/app.py` as `catalog run` starts it, on a free port; yields (base URL, pid) once
    it answers its health check."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            streamlit_command(port, "127.0.0.1"), env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(base, process, log, timeout)
            yield base, process.pid
        finally:
            stop_child(process, 15)


def _wait_healthy(base: str, process: subprocess.Popen[bytes], log: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"streamlit exited with {process.returncode}: {log.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"streamlit did not become healthy at {base}")


def peak_rss_mib(pid: int) -> tuple[float, float]:
    """(peak, current) resident memory of a process in MiB, from /proc (VmHWM, VmRSS)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmHWM"].split()[0]) / 1024, int(fields["VmRSS"].split()[0]) / 1024


# --- measurements -------------------------------------------------------------------------------------------------


def apptest_times(runs: int) -> dict[str, tuple[float, float]]:
    """Per page: (median cold seconds, median warm seconds) of an AppTest run of that page."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from dashboard.views import PAGES

    times: dict[str, tuple[float, float]] = {}
    for spec in PAGES:
        cold, warm = [], []
        for _ in range(runs):
            at = AppTest.from_file(str(APP), default_timeout=120).run()
            at.switch_page(spec.script)
            st.cache_data.clear()
            started = time.perf_counter()
            at.run()
            cold.append(time.perf_counter() - started)
            if at.exception:
                raise RuntimeError(f"{spec.title}: {[e.value for e in at.exception]}")
            started = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - started)
        times[spec.title] = (statistics.median(cold), statistics.median(warm))
    return times


def browser_pass(env: dict[str, str], screenshots: Path | None) -> tuple[dict[str, float], tuple[float, float]]:
    """Open every page in Chromium against a fresh server: seconds per page, then the server's (peak, now) MiB."""
    from dashboard.views import PAGES

    seconds: dict[str, float] = {}
    with streamlit_server(env) as (base, pid), chromium() as page:
        for spec in PAGES:
            elapsed, state = open_page(page, f"{base}/{spec.url_path}")
            if state.get("exceptions") or state.get("timed_out"):
                raise RuntimeError(f"{spec.title}: {state}")
            seconds[spec.title] = elapsed
            if screenshots:
                page.screenshot(path=screenshots / f"{spec.url_path}.png")
        memory = peak_rss_mib(pid)
    return seconds, memory


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="python -m bench.dashboard")
    parser.add_argument("--database", help="PostgreSQL database to read (default: CATALOG_POSTGRES_DB or catalog)")
    parser.add_argument("--index-alias", help="search index alias for the facet page (default: CATALOG_INDEX_ALIAS)")
    parser.add_argument("--runs", type=int, default=3, help="AppTest runs per page; the median is reported")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium pass (and the RSS figure)")
    parser.add_argument("--screenshots", type=Path, help="save a screenshot per page into this folder")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    args = parser.parse_args(argv)

    if args.database:
        os.environ["CATALOG_POSTGRES_DB"] = args.database
    if args.index_alias:
        os.environ["CATALOG_INDEX_ALIAS"] = args.index_alias
    from catalog.settings import get_settings

    settings = get_settings()
    print(f"database {settings.postgres_db}: {_product_count(settings.database_url):,} products")
    report = run(args.runs, not args.no_browser, args.screenshots)
    _print(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def run(runs: int = 3, browser: bool = True, screenshots: Path | None = None) -> dict[str, Any]:
    """Every figure against the database the settings point at: AppTest cold/warm per page, and (with `browser`)
    Chromium seconds per page and the streamlit process's peak/current RSS."""
    from catalog.settings import get_settings

    settings = get_settings()
    report: dict[str, Any] = {"database": settings.postgres_db, "products": _product_count(settings.database_url)}
    times = apptest_times(runs)
    report["apptest_seconds"] = {page: {"cold": cold, "warm": warm} for page, (cold, warm) in times.items()}
    if browser:
        seconds, (peak, now) = browser_pass(dict(os.environ), screenshots)
        report["browser_seconds"], report["streamlit_peak_rss_mib"], report["streamlit_rss_mib"] = seconds, peak, now
    return report


def _product_count(url: str) -> int:
    from sqlalchemy import create_engine, pool, text

    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM products")).scalar() or 0)


def _print(report: dict[str, Any]) -> None:
    browser = report.get("browser_seconds", {})
    print(f"{'page':18} {'AppTest cold s':>15} {'AppTest warm s':>15} {'browser s':>10}")
    for page, figures in report["apptest_seconds"].items():
        shown = f"{browser[page]:10.2f}" if page in browser else f"{'-':>10}"
        print(f"{page:18} {figures['cold']:15.2f} {figures['warm']:15.2f} {shown}")
    if "streamlit_peak_rss_mib" in report:
        print(f"streamlit process: peak RSS {report['streamlit_peak_rss_mib']:.0f} MiB, "
              f"now {report['streamlit_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
