"""Global filters in the sidebar (category with its subtree, brand, warehouse, date range), shared by every page.

`sidebar()` runs in the entry point on every page, so the widgets (and their values, kept in
`st.session_state` under the keys below) survive moving between pages; pages call `current()`.
"""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from dashboard import data
from db.analytics.common import Filters

CATEGORY_KEY = "filter_category"
BRAND_KEY = "filter_brand"
WAREHOUSE_KEY = "filter_warehouse"
DATES_KEY = "filter_dates"
DEFAULT_DAYS = 90


def default_dates(today: date | None = None) -> tuple[date, date]:
    today = today or date.today()
    return today - timedelta(days=DEFAULT_DAYS), today


def _category_picker() -> None:
    tree = data.categories()
    labels = {row.path: f"{'  ' * int(row.depth)}{row.name}  ·  {row.path}" for row in tree.itertuples()}
    st.selectbox("Category", [None, *labels], key=CATEGORY_KEY,
                 format_func=lambda path: "All categories" if path is None else labels.get(path, path),
                 help="A category includes all of its subcategories.")


def _brand_picker() -> None:
    st.selectbox("Brand", [None, *data.brands()], key=BRAND_KEY,
                 format_func=lambda brand: "All brands" if brand is None else brand)


def _warehouse_picker() -> None:
    names = {int(row.id): f"{row.code} — {row.name}" for row in data.warehouses().itertuples()}
    st.selectbox("Warehouse", [None, *names], key=WAREHOUSE_KEY,
                 format_func=lambda wid: "All warehouses" if wid is None else names.get(wid, str(wid)),
                 help="Narrows stock figures: stock-outs, stock value, available and reserved units.")


def sidebar() -> None:
    """Draw the filter widgets; a database that cannot be read leaves the pages to explain why."""
    with st.sidebar:
        st.subheader("Filters")
        try:
            _category_picker()
            _brand_picker()
            _warehouse_picker()
        except Exception:
            st.caption("Filters unavailable: the catalog database cannot be read.")
        st.date_input("Date range", value=default_dates(), key=DATES_KEY, max_value=date.today() + timedelta(days=1),
                      help="Narrows events: price changes, searches and the quality trend (UTC days).")


def _dates() -> tuple[date | None, date | None]:
    chosen = st.session_state.get(DATES_KEY, default_dates())
    if isinstance(chosen, date):
        return chosen, chosen
    values = [value for value in chosen if value is not None]
    if not values:
        return None, None
    return values[0], values[-1]  # a range being picked has only its start yet


def current() -> Filters:
    """The filters as chosen in the sidebar, as a hashable value for the cached data functions."""
    start, end = _dates()
    return Filters(category=st.session_state.get(CATEGORY_KEY), brand=st.session_state.get(BRAND_KEY),
                   warehouse_id=st.session_state.get(WAREHOUSE_KEY), start=start, end=end)


def describe(f: Filters) -> str:
    """One line saying what the page is showing."""
    parts = [f"category **{f.category}**" if f.category else "all categories",
             f"brand **{f.brand}**" if f.brand else "all brands"]
    if f.start and f.end:
        parts.append(f"{f.start:%Y-%m-%d} → {f.end:%Y-%m-%d}")
    return " · ".join(parts)
