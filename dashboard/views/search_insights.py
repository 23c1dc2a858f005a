"""Search insights: top queries, zero-result queries, and facet exploration over the search index."""

from __future__ import annotations

import streamlit as st
from opensearchpy.exceptions import OpenSearchException

from dashboard import charts, data, filters, search_data
from db.analytics import Filters


def _kpis(f: Filters) -> bool:
    kpis = data.search_kpis(f)
    if not kpis["searches"]:
        st.info("No searches recorded in this date range. Shoppers' searches through the storefront search API "
                "are logged automatically; widen the date range or run a few searches.")
        return False
    cols = st.columns(4)
    cols[0].metric("Searches", f"{kpis['searches']:,}")
    cols[1].metric("Zero-result rate", f"{kpis['zero_pct']:.1f}%", help=f"{kpis['zero_results']:,} searches.")
    cols[2].metric("Latency p50 / p95", f"{kpis['p50_ms']:.0f} / {kpis['p95_ms']:.0f} ms")
    cols[3].metric("Served from cache", f"{kpis['cached_pct']:.1f}%")
    return True


def _queries(f: Filters) -> None:
    st.plotly_chart(charts.stacked_bar(data.searches_daily(f).assign(found=lambda d: d.searches - d.zero_results),
                                       "day", {"found": "with results", "zero_results": "zero results"},
                                       title="Searches per day", x_title="Day (UTC)", y_title="Searches (count)"),
                    key="searches_chart")
    left, right = st.columns(2)
    left.markdown("**Top queries**")
    left.dataframe(data.top_queries(f, False), hide_index=True, key="top_queries_table",
                   column_config={"avg_results": "Avg results", "latency_ms": "Median latency (ms)"})
    right.markdown("**Zero-result queries** — candidates for synonyms or new products")
    right.dataframe(data.top_queries(f, True), hide_index=True, key="zero_queries_table",
                    column_config={"avg_results": None, "latency_ms": "Median latency (ms)"})


def _facets(f: Filters) -> None:
    st.subheader("Facet exploration")
    st.caption("Live from the search index (OpenSearch terms aggregations), under the category and brand filters.")
    cols = st.columns(2)
    label = cols[0].selectbox("Facet", list(search_data.FACETS), key="facet_field")
    field = search_data.FACETS[label]
    attribute = None
    try:
        if field == search_data.FACETS["attribute"]:
            names = data.attribute_names(f)
            attribute = cols[1].selectbox("Attribute", names, key="facet_attribute") if names else None
        result = data.facet(f, field, attribute)
    except OpenSearchException as exc:
        st.info(f"The search index `{data.index_alias()}` cannot be read ({type(exc).__name__}). Start the stack "
                "with `catalog stack up` and build the index with `catalog reindex` (the indexer keeps it current).")
        return
    if result.buckets.empty:
        st.info("The search index has no documents for this selection yet — run `catalog reindex`, or start the "
                "indexer (`catalog indexer run`) to stream the catalog into it.")
        return
    st.metric("Indexed products in selection", f"{result.documents:,}")
    shown = f"{label}: {attribute}" if attribute else label
    st.plotly_chart(charts.bar(result.buckets, "value", "products", title=f"Products by {shown}",
                               x_title=shown.capitalize(), y_title="Products (count)", horizontal=True),
                    key="facet_chart")
    st.dataframe(result.buckets, hide_index=True, key="facet_table")
    if result.other:
        st.caption(f"{result.other:,} more products have values outside the top {search_data.FACET_SIZE}.")


def render() -> None:
    st.title("Search insights")
    data.require_catalog()
    f = filters.current()
    st.caption("Searches follow the date range; facets follow the category and brand filters.")
    if _kpis(f):
        _queries(f)
    _facets(f)


render()
