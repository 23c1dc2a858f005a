"""Dashboard entry point (`streamlit run dashboard/app.py`): the sidebar filters and the page navigation."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run` puts dashboard/ on sys.path, not the project root that holds db/ and catalog/.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from dashboard import filters  # noqa: E402
from dashboard.views import PAGES  # noqa: E402


def main() -> None:
    st.set_page_config(page_title="Product catalog analytics", page_icon=":material/analytics:", layout="wide")
    pages = [st.Page(spec.script, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=number == 0)
             for number, spec in enumerate(PAGES)]
    page = st.navigation(pages)
    filters.sidebar()
    page.run()


main()
