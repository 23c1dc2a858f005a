"""The real dashboard in a real browser: `streamlit run` plus headless Chromium (Debian package) driven by Playwright.

Every page is opened (the search preview also with a query typed), the test waits until its charts are drawn,
saves a screenshot under tests/artifacts/ and fails if Streamlit shows an exception; analysts see the viewer
toolbar (no Deploy button). Uses the seeded dashboard database of tests/dashboard/conftest.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from bench.dashboard import CHART, chromium, open_page, page_state, streamlit_server
from dashboard.views import PAGES
from stack.manager import CHROMIUM
from tests.helpers.dashboard import DashboardDatabase

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs the Debian chromium package "
                                                                    "(apt-get install -y chromium)")


@pytest.fixture(scope="module")
def server(dashboard_db: DashboardDatabase) -> Iterator[str]:
    """The dashboard as `make run` starts it, reading the seeded dashboard database (via the environment)."""
    with streamlit_server(dict(os.environ)) as (base, _pid):
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Page]:
    with chromium() as page:
        yield page


CHARTS_ONCE_ASKED = {"search-preview"}
"""Pages that draw a chart only once something is typed (the search preview: a query)."""


def _rendered_cleanly(browser: Page, state: dict[str, object], title: str, shot: Path) -> None:
    browser.screenshot(path=shot)
    html = browser.content()
    assert "stException" not in html and "Traceback" not in html, f"{title} shows an exception"
    assert not state.get("timed_out"), f"{title} did not finish rendering: {state}"
    assert f">{title}<" in html
    assert shot.stat().st_size > 10_000


@pytest.mark.parametrize("spec", PAGES, ids=[spec.url_path for spec in PAGES])
def test_page_draws_its_charts_without_exception(server: str, browser: Page, spec: object) -> None:
    url_path, title = spec.url_path, spec.title  # type: ignore[attr-defined]
    charted = url_path not in CHARTS_ONCE_ASKED
    _, state = open_page(browser, f"{server}/{url_path}", min_charts=1 if charted else 0)
    _rendered_cleanly(browser, state, title, ARTIFACTS / f"dashboard-{url_path}.png")
    assert state["drawn"] == state["charts"]
    assert state["charts"] >= 1 if charted else "Type a query" in browser.content()


def test_search_preview_draws_the_answer_to_a_typed_query(server: str, browser: Page) -> None:
    _, state = open_page(browser, f"{server}/search-preview")
    assert not state.get("timed_out"), state
    query = browser.get_by_label("Query")
    query.fill("shirt")
    query.press("Enter")
    browser.locator(CHART).first.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    _rendered_cleanly(browser, page_state(browser), "Search preview", ARTIFACTS / "dashboard-search-preview-query.png")


def test_analysts_get_the_viewer_toolbar_without_deploy(server: str, browser: Page) -> None:
    """Streamlit's default toolbar shows Deploy (and Rerun, Clear cache) to anyone on localhost; analysts must not."""
    _, state = open_page(browser, server)
    assert not state.get("timed_out") and state["title"], f"the dashboard did not render: {state}"
    assert browser.get_by_test_id("stMainMenu").count() == 1, "the viewer's menu (print, theme) is missing"
    assert browser.get_by_test_id("stAppDeployButton").count() == 0
    assert browser.get_by_role("button", name="Deploy").count() == 0
