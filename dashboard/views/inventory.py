"""Inventory: stock-out rate by category and warehouse, low-stock lists, stock value, available vs reserved, and
stock per variant and warehouse of one product model."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, filters, model_picker
from db.analytics.common import Filters

LOW_STOCK_ROWS = 200
MODEL_ROWS = 200


def _kpis(f: Filters) -> None:
    stock = data.stock_kpis(f)
    active, stock_outs = int(stock["active"].sum()), int(stock["stock_outs"].sum())
    cols = st.columns(4)
    cols[0].metric("Stock-out rate", f"{100 * stock_outs / active if active else 0:.1f}%",
                   help=f"{stock_outs:,} of {active:,} active products have nothing available.")
    cols[1].metric("Units available", f"{int(stock['available'].sum()):,}", help="On hand - reserved.")
    cols[2].metric("Units reserved", f"{int(stock['reserved'].sum()):,}")
    cols[3].metric("Stock value", " + ".join(f"{r.stock_value:,.0f} {r.currency}" for r in stock.itertuples()) or "0",
                   help="Units on hand x current price, per currency.")


def _by_category(f: Filters) -> None:
    per_category = data.stock_by_category(f)
    st.plotly_chart(charts.bar(per_category, "category", "stock_out_pct", title="Stock-out rate by category",
                               x_title="Category", y_title="Stock-out rate (% of active products)",
                               horizontal=True), key="stockout_category_chart")
    st.dataframe(per_category, hide_index=True, key="stock_by_category", column_config={
        "active": "Active products", "stock_outs": "Stock-outs",
        "stock_out_pct": st.column_config.NumberColumn("Stock-out rate (%)", format="%.2f"),
        "available": "Available (units)", "reserved": "Reserved (units)"})


def _by_warehouse(f: Filters) -> None:
    per_warehouse = data.stock_by_warehouse(f)
    st.plotly_chart(charts.stacked_bar(per_warehouse, "warehouse", {"available": "available", "reserved": "reserved"},
                                       title="Available vs reserved by warehouse", x_title="Warehouse",
                                       y_title="Units"), key="warehouse_chart")
    st.dataframe(per_warehouse, hide_index=True, key="stock_by_warehouse", column_config={
        "on_hand": "On hand (units)", "reserved": "Reserved (units)", "available": "Available (units)",
        "stock_value": st.column_config.NumberColumn("Stock value", format="%.0f"),
        "stock_outs": "Stock-outs", "stock_out_pct": st.column_config.NumberColumn("Stock-out rate (%)",
                                                                                   format="%.2f")})


def _low_stock(f: Filters) -> None:
    st.subheader("Low stock")
    threshold = st.number_input("Available at most (units)", min_value=0, max_value=1000, value=5, step=1,
                                key="low_stock_threshold")
    total, rows = data.low_stock(f, int(threshold), LOW_STOCK_ROWS)
    if rows.empty:
        st.info("No active product is that low in the chosen warehouse(s). Raise the threshold to see more.")
        return
    st.caption(f"{total:,} stock rows of active products at or below {threshold} units available"
               + (f"; the {LOW_STOCK_ROWS} lowest shown." if total > LOW_STOCK_ROWS else "."))
    st.dataframe(rows, hide_index=True, key="low_stock_table")
    st.download_button("Download CSV", rows.to_csv(index=False).encode(), "low-stock.csv", "text/csv",
                       key="low_stock_csv")


def _models(f: Filters) -> None:
    """Models with the most out-of-stock variants first, then one model's stock per variant and warehouse."""
    st.subheader("Stock per model")
    models = data.models_stock(f, model_picker.search("inventory_model_search"), MODEL_ROWS)
    if models.empty:
        st.info(model_picker.NO_MODELS)
        return
    st.dataframe(models, hide_index=True, key="models_stock_table", column_config={
        "id": None, "variants": "Variants", "out_of_stock": "Variants out of stock",
        "available": "Available (units)"})
    chosen = model_picker.pick(models, "inventory_model")
    if chosen is None:
        return
    stock = data.model_variants_stock(chosen, f.warehouse_id)
    if stock.empty:
        st.info("This model has no variants yet (archived ones are not shown), or there is no warehouse.")
        return
    st.dataframe(stock, hide_index=True, key="model_stock_table", column_config={
        "on_hand": "On hand (units)", "reserved": "Reserved (units)", "available": "Available (units)"})
    st.download_button("Download CSV", stock.to_csv(index=False).encode(), "model-stock.csv", "text/csv",
                       key="model_stock_csv", help="Every variant in every warehouse shown, zero where none.")


def render() -> None:
    st.title("Inventory")
    data.require_catalog()
    f = filters.current()
    st.caption(filters.describe(f))
    _kpis(f)
    left, right = st.columns(2)
    with left:
        _by_category(f)
    with right:
        _by_warehouse(f)
    _low_stock(f)
    _models(f)


render()
