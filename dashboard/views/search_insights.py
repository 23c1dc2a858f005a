"""Search insights: top queries, zero-result queries, clicks and conversions per query, the effect of each
merchandising rule on click-through, and facet exploration over the search index."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from opensearchpy.exceptions import OpenSearchException
from streamlit.delta_generator import DeltaGenerator

from dashboard import charts, data, filters, search_data
from db.analytics import engagement
from db.analytics.common import Filters


def _table(where: DeltaGenerator, rows: pd.DataFrame, key: str, **column_config: str | None) -> None:
    """A table with its CSV export (the rows shown, every column)."""
    where.dataframe(rows, hide_index=True, key=f"{key}_table", column_config=column_config or None)
    where.download_button("Download CSV", rows.to_csv(index=False).encode(), f"{key.replace('_', '-')}.csv",
                          "text/csv", key=f"{key}_csv")


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
    _table(left, data.top_queries(f, False), "top_queries", avg_results="Avg results",
           p50_ms="Median latency (ms)")
    right.markdown("**Zero-result queries** — candidates for synonyms or new products")
    _table(right, data.top_queries(f, True), "zero_queries", avg_results=None, p50_ms="Median latency (ms)")


def _engagement(f: Filters) -> None:
    st.subheader("Clicks and conversions")
    kpis = data.engagement_kpis(f)
    if not kpis["tracked"]:
        st.info("No search in this date range carries a query id yet, so no click or purchase can be tied to one. "
                "The storefront sends `POST /search/events` with the `query_id` of the search a shopper acted on.")
        return
    st.caption(f"Over the {kpis['tracked']:,} searches in range that carry a query id (the ones click and "
               "purchase events can refer to). A rate counts searches with at least one such event.")
    cols = st.columns(4)
    cols[0].metric("Click-through rate", f"{kpis['ctr_pct']:.1f}%", help="Searches whose answer got a click.")
    position = kpis["mean_click_position"]
    cols[1].metric("Mean click position", "—" if position is None else f"{position:.2f}",
                   help="The average position (1 = first) of the clicked results.")
    cols[2].metric("Add-to-cart rate", f"{kpis['add_to_cart_pct']:.1f}%")
    cols[3].metric("Conversion rate", f"{kpis['conversion_pct']:.1f}%", help="Searches that led to a purchase.")
    left, right = st.columns(2)
    left.markdown("**Engagement per query**")
    _table(left, data.query_engagement(f), "query_engagement", ctr_pct="CTR (%)",
           mean_click_position="Mean click position", add_to_cart_pct="Add to cart (%)",
           conversion_pct="Conversion (%)")
    right.markdown("**Searches with results but no click** — results shoppers did not want")
    _table(right, data.no_click_queries(f), "no_click_queries", searches="Searches without event",
           with_results="Searches with results", no_event_pct="Without event (%)")


def _rules() -> None:
    st.subheader("Merchandising rules")
    effect = data.rule_effect()
    if effect.empty:
        st.info("No merchandising rules yet. Rules are written through the API (`/search/rules`); try one on the "
                "Search preview page.")
        return
    st.caption("Each rule since it took effect (its start, else its creation) until now or its end, against the "
               "searches for the same queries in as long a time just before. CTR counts searches with a click; "
               f"a side with fewer than {engagement.MIN_SEARCHES} searches is "
               f"*{engagement.NOT_ENOUGH_DATA}*. Not narrowed by the sidebar's dates.")
    _table(st.container(), effect, "rule_effect", rule_id="Rule", since="In effect since", days="Days compared",
           searches_with_rule="Searches with rule", ctr_with_rule_pct="CTR with rule (%)",
           searches_before="Searches before", ctr_before_pct="CTR before (%)", difference_pts="Difference (pts)")


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
    _table(st.container(), result.buckets, "facet")
    if result.other:
        st.caption(f"{result.other:,} more products have values outside the top {search_data.FACET_SIZE}.")


def render() -> None:
    st.title("Search insights")
    data.require_catalog()
    f = filters.current()
    st.caption("Searches follow the date range; facets follow the category and brand filters.")
    if _kpis(f):
        _queries(f)
        _engagement(f)
    _rules()
    _facets(f)


render()
