"""Dashboard benchmark: render time per page and the Streamlit process's peak memory, against a given database.

Render time is measured twice: server side with `streamlit.testing.v1.AppTest` (the page script with its
queries; cold = empty cache, warm = cached), and in a real headless Chromium driven over the DevTools protocol
(navigation until every chart is drawn). Peak RSS is the `streamlit run` process's VmHWM after the browser
has opened every page. The Chromium driver here is also what tests/test_dashboard_browser.py uses.

    python -m bench.dashboard --database catalog_dash100k
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench.api_process import free_port
from stack.manager import CHROMIUM

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP = PROJECT_ROOT / "dashboard" / "app.py"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                  "--no-first-run", "--disable-component-update", "--disable-sync")

# What a rendered page looks like: the title is there, the script has finished, every chart is drawn.
PAGE_STATE_JS = """JSON.stringify({
  title: document.querySelector('h1') !== null,
  running: document.querySelector('[data-testid="stStatusWidget"]') !== null
        || document.querySelector('[data-testid="stSkeleton"]') !== null,
  charts: document.querySelectorAll('[data-testid="stPlotlyChart"]').length,
  drawn: document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot .main-svg').length > 0
        ? document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot').length : 0,
  exceptions: document.querySelectorAll('[data-testid="stException"]').length
        + (document.body.innerText.includes('Traceback (most recent call last)') ? 1 : 0),
})"""


# --- a headless Chromium over the DevTools protocol -------------------------------------------------------------


class Chromium:
    """One headless Chromium with one tab, driven over CDP (websocket), with a fresh empty profile."""

    def __init__(self, binary: str = CHROMIUM, width: int = 1400, height: int = 1000) -> None:
        from websockets.sync.client import connect

        self.profile = tempfile.mkdtemp(prefix="dashboard-chromium-")
        self.process = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = self._devtools_port()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            targets = json.load(response)
        tab = next(t for t in targets if t["type"] == "page")
        self._stack = ExitStack()
        self.socket = self._stack.enter_context(connect(tab["webSocketDebuggerUrl"], max_size=None, open_timeout=10))
        self._next_id = 0
        self.call("Page.enable")

    def _devtools_port(self, timeout: float = 20) -> int:
        marker = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker.exists() and (lines := marker.read_text().splitlines()):
                return int(lines[0])
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}")
            time.sleep(0.05)
        raise TimeoutError("chromium did not open its DevTools port")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events arriving meanwhile are dropped)."""
        self._next_id += 1
        self.socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def open(self, url: str, min_charts: int = 0, timeout: float = 60) -> tuple[float, dict[str, Any]]:
        """Navigate and wait until the page is rendered with at least `min_charts` charts drawn (or shows an
        exception); returns (seconds until it settled, page state)."""
        started = time.perf_counter()
        self.call("Page.navigate", url=url)
        state: dict[str, Any] = {}
        stable_since: float | None = None
        while time.perf_counter() - started < timeout:
            state = json.loads(self.evaluate(PAGE_STATE_JS) or "{}")
            charts = state.get("charts", 0)
            done = state.get("exceptions") or (state.get("title") and not state.get("running")
                                                and charts >= min_charts and state.get("drawn", 0) >= charts)
            if done:
                stable_since = stable_since or time.perf_counter()
                if time.perf_counter() - stable_since >= 1.0:  # settled: nothing more arriving
                    return stable_since - started, state
            else:
                stable_since = None
            time.sleep(0.1)
        return time.perf_counter() - started, {**state, "timed_out": True}

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def html(self) -> str:
        return str(self.evaluate("document.documentElement.outerHTML"))

    def close(self) -> None:
        try:
            self._stack.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            shutil.rmtree(self.profile, ignore_errors=True)


@contextmanager
def chromium() -> Iterator[Chromium]:
    browser = Chromium()
    try:
        yield browser
    finally:
        browser.close()


# --- the real dashboard server ------------------------------------------------------------------------------------




@contextmanager
def streamlit_server(env: dict[str, str], port: int | None = None, timeout: float = 60) -> Iterator[tuple[str, int]]:
    """`streamlit run dashboard/app.py` on a free port; yields (base URL, pid) once it answers its health check."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port), "--server.address",
             "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(base, process, log, timeout)
            yield base, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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
    with streamlit_server(env) as (base, pid), chromium() as browser:
        for spec in PAGES:
            elapsed, state = browser.open(f"{base}/{spec.url_path}")
            if state.get("exceptions") or state.get("timed_out"):
                raise RuntimeError(f"{spec.title}: {state}")
            seconds[spec.title] = elapsed
            if screenshots:
                browser.screenshot(screenshots / f"{spec.url_path}.png")
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
