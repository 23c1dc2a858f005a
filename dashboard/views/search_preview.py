"""Search preview: a merchandiser types a query and filters and sees exactly what shoppers get — the items, the
merchandising rules that fired, and per hit why it ranks there (its pin, or the factors it earned and its score)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from catalog.errors import InvalidInput, ServiceUnavailable
from dashboard import charts, data, preview_data
from dashboard.preview_data import PreviewInput
from search.preview import SearchPreview
from search.schemas import DEFAULT_PER_PAGE, MAX_PER_PAGE, SORTS

UNAVAILABLE = ("Search unavailable: the search index `{alias}` cannot be read ({reason}). Start the stack with "
               "`catalog stack up` and build the index with `catalog reindex`.")


def _form() -> PreviewInput:
    top = st.columns([3, 1, 1])
    q = top[0].text_input("Query", key="preview_q", placeholder="What a shopper types, e.g. running shoes")
    sort = top[1].selectbox("Sort", SORTS, key="preview_sort")
    per_page = int(top[2].number_input("Items", 1, MAX_PER_PAGE, DEFAULT_PER_PAGE, key="preview_per_page"))
    row = st.columns([2, 2, 1, 1])
    paths = list(data.categories()["path"])
    category = row[0].selectbox("Category", [None, *paths], key="preview_category",
                                format_func=lambda path: "All categories" if path is None else path,
                                help="The category and its subcategories.")
    brands = row[1].multiselect("Brand", data.brands(), key="preview_brands", placeholder="All brands")
    in_stock = row[2].checkbox("In stock only", key="preview_in_stock")
    group = row[3].checkbox("Per model", value=True, key="preview_group",
                            help="As shoppers see it: one item per product model (its best variant). Unticked, "
                                 "every variant is an item of its own.")
    attributes = st.text_area("Attributes", key="preview_attributes", height=80, placeholder="color=red\nsize=m",
                              help="`name=value`, one a line; a name given twice matches either value.")
    return PreviewInput(q=q.strip(), category=category, brands=tuple(brands), in_stock=in_stock, sort=str(sort),
                        per_page=per_page, group=group, attributes=attributes)


def _hits(found: SearchPreview) -> pd.DataFrame:
    why = {hit.id: hit for hit in found.explanations}
    rows = []
    for position, item in enumerate(found.search.items, start=1):
        hit = why[item.id]
        rows.append({
            "position": position, "sku": item.sku, "name": item.name, "price": item.price, "currency": item.currency,
            "in_stock": item.in_stock,
            "model": f"{item.group.code} — {item.group.name}" if item.group else None,
            "pinned": hit.pinned, "score": hit.score, "text_match": hit.text_match,
            "factors": f"pinned by rule {hit.pinned_by}" if hit.pinned else preview_data.factor_text(hit.factors),
        })
    return pd.DataFrame(rows, columns=["position", "sku", "name", "price", "currency", "in_stock", "model", "pinned",
                                       "score", "text_match", "factors"])


def _notes(found: SearchPreview) -> None:
    answer = found.search
    if answer.corrected and answer.did_you_mean:
        st.warning(f"Nothing matched as typed: shoppers get the results of **{answer.did_you_mean}**.")
    elif answer.did_you_mean:
        st.caption(f"Shoppers are offered *Did you mean {answer.did_you_mean}?*")
    if answer.relaxed is not None:
        st.caption("The exact words came back short: partial matches are included.")


def _show(found: SearchPreview, took_ms: float) -> None:
    answer = found.search
    cols = st.columns(3)
    cols[0].metric("Matches", f"{answer.total:,}")
    cols[1].metric("Rules fired", f"{len(found.rules)}")
    cols[2].metric("Answered in", f"{took_ms:.0f} ms", help="The search and its explanation, as the API computes them.")
    _notes(found)
    st.markdown("**Rules that fired**")
    if found.rules:
        st.dataframe(pd.DataFrame([{"rule_id": r.id, "name": r.name} for r in found.rules]), hide_index=True,
                     key="preview_rules_table", column_config={"rule_id": "Rule", "name": "Name"})
    else:
        st.caption("No merchandising rule fired for this search.")
    if not answer.items:
        st.info("Shoppers get no results for this search.")
        return
    hits = _hits(found)
    st.markdown("**What shoppers get** — pinned items are placed by a rule, the rest ranked by score "
                "(text match times the factors listed)")
    st.dataframe(hits, hide_index=True, key="preview_hits_table", column_config={
        "position": "Position", "sku": "SKU", "name": "Name", "currency": "Currency",
        "price": st.column_config.NumberColumn("Price", format="%.2f"), "in_stock": "In stock", "model": "Model",
        "pinned": "Pinned", "score": "Score", "text_match": "Text match", "factors": "Ranking factors (weight)"})
    st.download_button("Download CSV", hits.to_csv(index=False).encode(), "search-preview.csv", "text/csv",
                       key="preview_csv", help="The items shown, with why each ranks there.")
    scored = hits[hits["score"].notna()].assign(label=lambda d: d.position.astype(str) + " · " + d.sku)
    if not scored.empty:
        st.plotly_chart(charts.bar(scored, "label", "score", title="Score by position", x_title="Position · SKU",
                                   y_title="Relevance score", horizontal=True), key="preview_scores_chart")


def render() -> None:
    st.title("Search preview")
    data.require_catalog()
    st.caption("What shoppers get for a search right now (never from the cache), through the search API's own "
               "code: the items, the merchandising rules that fired, and why each item ranks where it does. "
               "The sidebar's filters do not apply here.")
    chosen = _form()
    if not (chosen.q or chosen.category or chosen.brands or chosen.in_stock or chosen.attributes.strip()):
        st.info("Type a query (or choose a filter) to see what shoppers get.")
        return
    try:
        params = preview_data.params_of(chosen)
        with st.spinner("Searching as a shopper …"):
            found, took_ms = preview_data.run_preview(params)
    except InvalidInput as exc:
        fields = exc.details.get("fields", {})
        st.error(f"{exc.message}" + (f" ({', '.join(f'{k}: {v}' for k, v in fields.items())})" if fields else ""))
        return
    except ServiceUnavailable as exc:
        st.error(UNAVAILABLE.format(alias=data.index_alias(), reason=exc.message))
        return
    _show(found, took_ms)


render()
