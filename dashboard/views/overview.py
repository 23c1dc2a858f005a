"""Overview: products by status, ready-to-sell share, stock-outs, stock value, completeness, last-24-hour changes."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, filters


def _money(value: float, currency: str) -> str:
    return f"{value:,.0f} {currency}"


def _kpis() -> None:
    f = filters.current()
    kpis = data.catalog_kpis(f)
    stock = data.stock_kpis(f)
    stock_outs = int(stock["stock_outs"].sum()) if len(stock) else 0
    cols = st.columns(5)
    cols[0].metric("Products", f"{kpis['products']:,}", help="All statuses, in the chosen category and brand.")
    cols[1].metric("Ready to sell", f"{kpis['ready_to_sell_pct']:.1f}%",
                   help=f"{kpis['ready_to_sell']:,} of {kpis['not_archived']:,} non-archived products are active, "
                        "complete, priced and in stock.")
    cols[2].metric("Stock-outs", f"{stock_outs:,}", help="Active products with nothing available "
                                                          "(on hand - reserved ≤ 0) in the chosen warehouse(s).")
    cols[3].metric("Average completeness", f"{kpis['avg_completeness']:.1f}%", help="Non-archived products.")
    cols[4].metric("Changed in the last 24 h", f"{kpis['changed_24h']:,}",
                   help="Products updated in the last 24 hours.")
    value_cols = st.columns(max(len(stock), 1))
    for col, row in zip(value_cols, stock.itertuples(), strict=False):
        col.metric(f"Stock value ({row.currency})", _money(row.stock_value, row.currency),
                   help="Units on hand x current price.")


def _status_chart() -> None:
    counts = data.status_counts(filters.current())
    st.plotly_chart(charts.bar(counts, "status", "products", title="Products by status", x_title="Status",
                               y_title="Products (count)", text="products"), key="status_chart")
    st.dataframe(counts, hide_index=True, key="status_table",
                 column_config={"products": "Products", "avg_completeness": st.column_config.NumberColumn(
                     "Avg completeness (%)", format="%.1f")})


def _changes() -> None:
    events = data.changes_24h()
    st.subheader("Changes in the last 24 hours")
    if events.empty:
        st.info("No changes recorded in the last 24 hours. Edits made through the API or by the indexer's "
                "writers appear here (the demo seed writes no audit events).")
        return
    st.plotly_chart(charts.stacked_bar(events.pivot_table(index="entity", columns="action", values="events",
                                                          fill_value=0).reset_index(),
                                       "entity", {a: a for a in sorted(events["action"].unique())},
                                       title="Audit events by entity", x_title="Entity", y_title="Events (count)"),
                    key="changes_chart")


def _webhooks() -> None:
    counts = data.webhook_delivery_counts()
    if counts.empty:
        return
    st.subheader("Webhook deliveries")
    st.dataframe(counts, hide_index=True, key="webhook_counts_table")
    failed = data.failed_webhook_deliveries()
    if failed.empty:
        st.caption("No delivery has failed: every event was acknowledged or is still being retried.")
        return
    st.markdown(f"**Failed deliveries** (retried for hours, then given up; the latest {len(failed)})")
    st.dataframe(failed, hide_index=True, key="failed_deliveries_table")


def render() -> None:
    st.title("Overview")
    data.require_catalog()
    st.caption(filters.describe(filters.current()))
    _kpis()
    left, right = st.columns(2)
    with left:
        _status_chart()
    with right:
        _changes()
    _webhooks()


render()
