"""What a grouped search shows of each model on its page: code and name (from the variant's document), how many
variants a shopper can see, the ones the search matched, and the facet counts per model (`facets.model_counts_body`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from litestar.datastructures import State

from catalog import index_contract as doc
from search import backend, filtering, query

MAX_MATCHED_VARIANTS: Final = 100
"""A grouped item lists (and takes its price range from) at most this many matching variants."""


def variants_body(found: query.Body, group_ids: Sequence[int], sort: str) -> query.Body:
    """The variants of these groups that the search `found` matched (its query and filters, in filter context:
    no scores needed), best first under `sort`: what each grouped item lists and takes its price range from."""
    matched: list[query.Body] = [found["query"], {"terms": {doc.GROUP_ID: list(group_ids)}}]
    if "post_filter" in found:
        matched.append(found["post_filter"])
    by_price = sort in ("price_asc", "price_desc")
    order = query.SORTS[sort][:1] if by_price else [{doc.IN_STOCK: "desc"}, {doc.PRICE: "asc"}]
    return {"size": MAX_MATCHED_VARIANTS * len(group_ids), "query": {"bool": {"filter": matched}},
            "_source": [doc.SKU, doc.GROUP_ID, doc.PRICE], "sort": [*order, {doc.ID: "asc"}]}


VARIANT_COUNTS: Final = "variant_counts"


def variant_counts_body(group_ids: Sequence[int]) -> query.Body:
    """How many variants of each of these groups a shopper can see (active ones)."""
    visible = [filtering.active_only(), {"terms": {doc.GROUP_ID: list(group_ids)}}]
    return {"size": 0, "query": {"bool": {"filter": visible}},
            "aggs": {VARIANT_COUNTS: {"terms": {"field": doc.GROUP_ID, "size": len(group_ids)}}}}


@dataclass
class Model:
    """What a grouped item shows of its group: its code and name (from the hit), how many variants a shopper can
    see, and the ones matching the search."""

    id: int
    code: str
    name: str
    variant_count: int = 0
    skus: list[str] = field(default_factory=list)
    prices: list[float] = field(default_factory=list)


async def models_for(state: State, body: dict[str, Any], hits: Sequence[dict[str, Any]], sort: str,
                  facet_counts: dict[str, Any] | None) -> tuple[dict[int, Model], dict[str, Any] | None]:
    """The groups among these hits, with their variant counts and the variants of each that the search matched,
    and (`facet_counts`, when given) the variants behind each facet value shown: one `_msearch` of light
    searches, none when there is nothing to ask."""
    models: dict[int, Model] = {}
    for hit in hits:
        src = hit["_source"]
        if (group_id := src.get(doc.GROUP_ID)) is not None and group_id not in models:
            models[int(group_id)] = Model(int(group_id), src.get(doc.GROUP_CODE) or "", src.get(doc.GROUP_NAME) or "")
    ids = list(models)
    bodies = [variants_body(body, ids, sort), variant_counts_body(ids)] if ids else []
    if facet_counts is not None:
        bodies.append(facet_counts)
    if not bodies:
        return {}, None
    found = await backend.search_many(state.opensearch, state.settings.index_alias, bodies,
                                  "hits.hits._source,aggregations")
    variants = found[-1].get("aggregations", {}) if facet_counts is not None else None
    if not ids:
        return {}, variants
    matched, counted = found[0], found[1]
    for bucket in counted.get("aggregations", {}).get(VARIANT_COUNTS, {}).get("buckets", []):
        models[int(bucket["key"])].variant_count = int(bucket["doc_count"])
    for hit in matched.get("hits", {}).get("hits", []):
        model = models.get(int(hit["_source"][doc.GROUP_ID]))
        if model is not None and len(model.skus) < MAX_MATCHED_VARIANTS:
            model.skus.append(hit["_source"][doc.SKU])
            model.prices.append(float(hit["_source"][doc.PRICE]))
    return models, variants
