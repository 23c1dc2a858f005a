"""Dashboard pages, each a script that `st.navigation` runs; `PAGES` lists them for the app, tests and bench.

Not called `pages/`: AppTest (and older Streamlit) treat a `pages/` folder next to the entry point as a legacy
multipage app and run a page file on its own, without the entry point and its shared sidebar filters.
"""

from __future__ import annotations

from typing import NamedTuple


class PageSpec(NamedTuple):
    script: str
    """Path relative to dashboard/app.py."""
    title: str
    icon: str
    url_path: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec("views/overview.py", "Overview", ":material/dashboard:", "overview"),
    PageSpec("views/inventory.py", "Inventory", ":material/inventory_2:", "inventory"),
    PageSpec("views/pricing.py", "Pricing", ":material/sell:", "pricing"),
    PageSpec("views/quality.py", "Catalog quality", ":material/fact_check:", "quality"),
    PageSpec("views/search_insights.py", "Search insights", ":material/search:", "search-insights"),
    PageSpec("views/search_preview.py", "Search preview", ":material/manage_search:", "search-preview"),
)
