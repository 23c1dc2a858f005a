"""The real dashboard in a real browser: `streamlit run` plus headless Chromium (Debian package) over CDP.

Every page is opened, the test waits until its charts are drawn, saves a screenshot under tests/artifacts/
and fails if Streamlit shows an exception. Uses the seeded dashboard database of test_dashboard_pages.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.dashboard import CHROMIUM, Chromium, chromium, streamlit_server
from dashboard.views import PAGES
from tests.test_dashboard_pages import DashboardDatabase, dashboard_db  # noqa: F401 - the shared fixture

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs the Debian chromium package "
                                                                    "(apt-get install -y chromium)")


@pytest.fixture(scope="module")
def server(dashboard_db: DashboardDatabase) -> Iterator[str]:  # noqa: F811 - the imported fixture
    """The dashboard as `make run` starts it, reading the seeded dashboard database (via the environment)."""
    with streamlit_server(dict(os.environ)) as (base, _pid):
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    with chromium() as driver:
        yield driver


@pytest.mark.parametrize("spec", PAGES, ids=[spec.url_path for spec in PAGES])
def test_page_draws_its_charts_without_exception(server: str, browser: Chromium, spec: object) -> None:
    url_path, title = spec.url_path, spec.title  # type: ignore[attr-defined]
    _, state = browser.open(f"{server}/{url_path}", min_charts=1)
    browser.screenshot(ARTIFACTS / f"dashboard-{url_path}.png")
    html = browser.html()
    assert "stException" not in html and "Traceback" not in html, f"{title} shows an exception"
    assert not state.get("timed_out"), f"{title} did not finish rendering: {state}"
    assert state["charts"] >= 1 and state["drawn"] == state["charts"]
    assert f">{title}<" in html
    assert (ARTIFACTS / f"dashboard-{url_path}.png").stat().st_size > 10_000
