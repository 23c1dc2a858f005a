"""Catalog quality: completeness by category, most-missing fields, worst records (CSV), completeness per product
model and its variants (CSV), duplicates, trend."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, data, filters, model_picker
from db.analytics.common import Filters
from db.analytics.quality import COMPLETENESS_BANDS, WorstFilter
from db.models import ProductStatus

WORST_ROWS = (100, 500, 1000)
STATUSES = tuple(status.value for status in ProductStatus)  # ("draft", "active", "archived")
DUPLICATES_KEY = "quality_show_duplicates"
MODEL_ROWS = 200


def _kpis(f: Filters) -> None:
    kpis = data.quality_kpis(f)
    cols = st.columns(4)
    cols[0].metric("Average completeness", f"{kpis['avg_completeness']:.1f}%", help="Non-archived products.")
    cols[1].metric("Complete", f"{kpis['complete_pct']:.1f}%",
                   help=f"{kpis['complete']:,} of {kpis['not_archived']:,}.")
    cols[2].metric("Incomplete products", f"{kpis['incomplete']:,}")
    cols[3].metric("Products checked", f"{kpis['not_archived']:,}", help="Draft and active products.")


def completeness_matrix(long: pd.DataFrame) -> pd.DataFrame:
    """category x completeness band, as % of the category's products (rows sum to 100)."""
    counts = long.pivot_table(index="category", columns="band", values="products", aggfunc="sum", fill_value=0)
    counts = counts.reindex(columns=list(COMPLETENESS_BANDS), fill_value=0)
    return counts.div(counts.sum(axis=1), axis=0).mul(100).round(1)


def _heatmap_and_fields(f: Filters) -> None:
    left, right = st.columns(2)
    matrix = completeness_matrix(data.completeness_by_category(f))
    left.plotly_chart(charts.heatmap(matrix, title="Completeness by category", x_title="Completeness (%)",
                                     y_title="Category", z_title="Share of products (%)"), key="completeness_heatmap")
    fields = data.missing_fields(f)
    if fields.empty:
        right.success("Nothing is missing: every product in this selection is complete.")
        return
    right.plotly_chart(charts.bar(fields, "field", "products", title="Most-missing fields", x_title="Field",
                                  y_title="Products missing it (count)", horizontal=True), key="missing_fields_chart")


def _worst_filter(fields: list[str]) -> tuple[WorstFilter, int]:
    cols = st.columns([2, 2, 2, 1])
    statuses = cols[0].multiselect("Status", STATUSES, default=["draft", "active"], key="worst_statuses")
    ceiling = cols[1].slider("Completeness at most (%)", 0, 100, 99, key="worst_max_completeness")
    field = cols[2].selectbox("Missing field", [None, *fields], key="worst_missing_field",
                              format_func=lambda name: "Any" if name is None else name)
    rows = cols[3].selectbox("Rows", WORST_ROWS, key="worst_rows")
    return WorstFilter(tuple(statuses) or STATUSES, int(ceiling), field), int(rows)


def _worst_records(f: Filters) -> None:
    st.subheader("Worst records")
    worst_filter, rows = _worst_filter(list(data.missing_fields(f)["field"]))
    worst = data.worst_records(f, worst_filter, rows)
    if worst.empty:
        st.success("No product matches: loosen the filters above to see more.")
        return
    st.dataframe(worst, hide_index=True, key="worst_table", column_config={
        "thumbnail": st.column_config.ImageColumn("Image", help="The first uploaded image (200 px thumbnail)."),
        "completeness": st.column_config.ProgressColumn("Completeness (%)", min_value=0, max_value=100,
                                                        format="%d%%"),
        "missing_fields": "Missing fields"})
    st.download_button("Download CSV", worst.to_csv(index=False).encode(), "worst-records.csv", "text/csv",
                       key="worst_csv", help="The rows shown, with their missing fields.")
    _product_drilldown(worst)


def _product_drilldown(worst: pd.DataFrame) -> None:
    """One of the worst records in full: what it is missing and every image it has (uploads first)."""
    labels = {int(row.id): f"{row.sku} — {row.name}" for row in worst.itertuples()}
    chosen = st.selectbox("Product details", [None, *labels], key="quality_product",
                          format_func=lambda pid: "Choose a product …" if pid is None else labels[pid])
    card = data.product_card(int(chosen)) if chosen is not None else None
    if card is None:
        return
    cols = st.columns(3)
    cols[0].metric("Completeness", f"{card['completeness']}%")
    cols[1].metric("Status", card["status"])
    cols[2].metric("Images", len(card["pictures"]))
    st.caption("Missing: " + (", ".join(card["missing_fields"]) or "nothing"))
    if not card["pictures"]:
        st.info("This product has no images yet: upload one with POST /products/{id}/images.")
        return
    st.image([p["url"] for p in card["pictures"]], caption=[p["caption"] for p in card["pictures"]], width=200)


def _models(f: Filters) -> None:
    """Completeness per product model (group): its share of complete variants, then one model's variants."""
    st.subheader("Completeness per model")
    st.caption("A model is complete when every variant is; values a variant inherits from its model count.")
    cols = st.columns(2)
    with cols[0]:
        search = model_picker.search("quality_model_search")
    incomplete_only = cols[1].checkbox("Only models with incomplete variants", key="models_incomplete_only")
    models = data.models_quality(f, incomplete_only, search, MODEL_ROWS)
    if models.empty:
        st.info(model_picker.NO_MODELS)
        return
    st.dataframe(models, hide_index=True, key="models_table", column_config={
        "id": None, "variants": "Variants", "complete_variants": "Complete variants",
        "complete_pct": st.column_config.ProgressColumn("Complete variants (%)", min_value=0, max_value=100,
                                                        format="%.0f%%")})
    st.download_button("Download CSV", models.to_csv(index=False).encode(), "models-completeness.csv", "text/csv",
                       key="models_csv", help="The models shown, least complete first.")
    chosen = model_picker.pick(models, "quality_model")
    if chosen is None:
        return
    variants = data.model_variants_quality(chosen)
    if variants.empty:
        st.info("This model has no variants yet (archived ones are not shown).")
        return
    st.dataframe(variants, hide_index=True, key="model_variants_table", column_config={
        "id": None,
        "completeness": st.column_config.ProgressColumn("Completeness (%)", min_value=0, max_value=100,
                                                        format="%d%%"),
        "missing_fields": "Missing fields", "inherited": "Inherited from the model"})
    st.download_button("Download CSV", variants.to_csv(index=False).encode(), "model-variants.csv", "text/csv",
                       key="model_variants_csv", help="The chosen model's variants with their missing fields.")


def _duplicates(f: Filters) -> None:
    st.subheader("Likely duplicates")
    st.caption("Same GTIN/EAN, same brand and normalized name, or near-identical names (trigram similarity).")
    if not st.session_state.get(DUPLICATES_KEY):
        # The fuzzy comparison scans the whole selection, so it runs when asked, not on every page view.
        st.button("Find likely duplicates", key="find_duplicates",
                  on_click=lambda: st.session_state.update({DUPLICATES_KEY: True}))
        return
    total, groups = data.duplicates(f)
    st.metric("Duplicate groups", f"{total:,}")
    if groups.empty:
        st.success("No likely duplicates in this selection.")
        return
    st.dataframe(groups, hide_index=True, key="duplicates_table")


def _trend(f: Filters) -> None:
    st.subheader("Quality trend")
    trend = data.quality_trend(f)
    if trend.empty:
        st.info("No quality snapshots in this date range yet — run `catalog quality snapshot` (the running "
                "catalog also takes one every day).")
        return
    st.plotly_chart(charts.lines(trend, "taken_on", {"avg_completeness": "average completeness",
                                                     "complete_pct": "complete", "ready_to_sell_pct": "ready to sell"},
                                 title="Quality over time", x_title="Day", y_title="Share of products (%)"),
                    key="quality_trend_chart")


def render() -> None:
    st.title("Catalog quality")
    data.require_catalog()
    f = filters.current()
    st.caption(filters.describe(f))
    _kpis(f)
    _heatmap_and_fields(f)
    _worst_records(f)
    _models(f)
    _duplicates(f)
    _trend(f)


render()
