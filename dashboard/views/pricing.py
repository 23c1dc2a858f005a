"""Pricing: price distribution per category, price changes over time with the biggest movers, currencies."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, filters
from db.analytics.common import Filters

MOVERS = 20


def _currency(f: Filters) -> str | None:
    breakdown = data.currencies(f)
    st.subheader("Currencies")
    if breakdown.empty:
        st.info("No priced products in this selection. Set prices through the API or the bulk import.")
        return None
    st.dataframe(breakdown, hide_index=True, key="currency_table", column_config={
        "products": "Priced products", "avg_price": st.column_config.NumberColumn("Average price", format="%.2f"),
        "median_price": st.column_config.NumberColumn("Median price", format="%.2f"),
        "min_price": st.column_config.NumberColumn("Lowest", format="%.2f"),
        "max_price": st.column_config.NumberColumn("Highest", format="%.2f")})
    options = list(breakdown["currency"])
    return str(st.selectbox("Currency for the charts below", options, key="pricing_currency")) \
        if len(options) > 1 else str(options[0])


def _distribution(f: Filters, currency: str) -> None:
    quantiles = data.price_quantiles(f, currency)
    histogram = data.price_histogram(f, currency)
    left, right = st.columns(2)
    left.plotly_chart(charts.box_from_quantiles(
        quantiles, "category", title="Price distribution by category",
        x_title="Category (box: quartiles, whiskers: 5th-95th percentile)", y_title=f"Price ({currency}, log scale)"),
        key="price_box")
    labels = [f"{lo:,.2f}-{hi:,.2f}" for lo, hi in zip(histogram["lower"], histogram["upper"], strict=True)]
    right.plotly_chart(charts.histogram_bars(histogram, title="Price histogram (log-spaced buckets)",
                                             x_title=f"Price range ({currency})", y_title="Products (count)",
                                             labels=labels), key="price_histogram")


def _changes(f: Filters, currency: str) -> None:
    st.subheader("Price changes")
    daily = data.price_changes_daily(f, currency)
    if daily.empty:
        st.info("No price changes in the chosen date range. Widen the date range in the sidebar; changes made "
                "through the API are recorded automatically.")
        return
    st.metric("Price changes in range", f"{int(daily['changes'].sum()):,}")
    st.plotly_chart(charts.stacked_bar(daily, "day", {"increases": "increases", "decreases": "decreases"},
                                       title="Price changes per day", x_title="Day (UTC)",
                                       y_title="Price changes (count)"), key="price_changes_chart")
    movers = data.biggest_movers(f, currency, MOVERS)
    st.markdown(f"**Biggest movers** — first price before → last price after, in {currency}")
    st.dataframe(movers, hide_index=True, key="movers_table", column_config={
        "price_before": st.column_config.NumberColumn("Before", format="%.2f"),
        "price_after": st.column_config.NumberColumn("After", format="%.2f"),
        "change_pct": st.column_config.NumberColumn("Change (%)", format="%+.2f"), "changes": "Changes"})


def render() -> None:
    st.title("Pricing")
    data.require_catalog()
    f = filters.current()
    st.caption(filters.describe(f))
    currency = _currency(f)
    if currency is None:
        return
    _distribution(f, currency)
    _changes(f, currency)


render()
