"""Disjunctive facets: every facet counts under all filters except its own, in the one search request.

The main query carries what no facet needs to look past (active products, the text, the chosen category: the
category facet lists that category's children); the shopper's other filters go to `post_filter` for the hits,
and each facet's aggregation is wrapped in a `filter` of the other filters. Price stats and ranges share one
wrapper, and so do the attribute facets the shopper has not filtered on (one terms aggregation for all of them).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from api.search.schemas import (
    AvailabilityFacet,
    CategoryFacetValue,
    Facets,
    FacetValue,
    PriceFacet,
    PriceRange,
    SearchParams,
)
from indexer import mapping as f

Body = dict[str, Any]

BRAND_SIZE: Final = 20
CATEGORY_SIZE: Final = 50
ATTRIBUTE_VALUE_SIZE: Final = 30
MAX_ATTRIBUTE_FACETS: Final = 10
ATTRIBUTES_AGG: Final = "attributes"
COMBINED_ATTRIBUTE_SIZE: Final = 1_000
"""The attribute facets without a filter of their own share one terms aggregation, which returns this many of
their most common pairs; each facet lists its ATTRIBUTE_VALUE_SIZE most common among them. One pass over every
product's pairs instead of one per facet (browse: aggregations 5.1 -> 3.6 ms). Exact unless the other facets have
about a thousand values more common than a facet's 30th (facetable attributes are colors and sizes, not codes)."""
PRICE_EDGES: Final = (10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0)
ATTR_PREFIX: Final = "attr."
VARIANTS_AGG: Final = "variants"
GROUPS_AGG: Final = "groups"
GROUP_PRECISION: Final = 10_000
"""Below this many distinct groups in one bucket a cardinality count is exact in practice (OpenSearch keeps the
hashes themselves up to the threshold); facet buckets of a storefront page hold far fewer variant groups."""


def lucene_regex_escape(text: str) -> str:
    return re.sub(r'([.?+*|{}\[\]()"\\#@&<>~^$])', r"\\\1", text)


def category_children_regex(category: str | None) -> str:
    """Paths one level below `category` (or top-level paths), as a terms `include` regex."""
    if not category:
        return "[^/]+"
    return f"{lucene_regex_escape(category)}/[^/]+"


def price_ranges() -> list[Body]:
    ranges: list[Body] = [{"to": PRICE_EDGES[0]}]
    ranges += [{"from": low, "to": high} for low, high in itertools.pairwise(PRICE_EDGES)]
    ranges.append({"from": PRICE_EDGES[-1]})
    return ranges


def _others(filters: Mapping[str, Body], own: str) -> Body | None:
    others = [clause for name, clause in filters.items() if name != own]
    if not others:
        return None
    return others[0] if len(others) == 1 else {"bool": {"filter": others}}


def _except(filters: Mapping[str, Body], own: str, inner: Body) -> Body:
    """`inner` under every filter but `own`: the disjunctive part."""
    others = _others(filters, own)
    return inner if others is None else {"filter": others, "aggs": {"f": inner}}


def group_count() -> Body:
    """Sub-aggregations that turn a bucket's product count into a count of models: the variants among its
    products, and how many groups they belong to (`count`: products - variants + groups). Only variants are
    hashed, so a bucket of products of their own costs a filter and nothing more."""
    return {VARIANTS_AGG: {"filter": {"exists": {"field": f.GROUP_ID}}, "aggs": {GROUPS_AGG: {
        "cardinality": {"field": f.GROUP_ID, "precision_threshold": GROUP_PRECISION}}}}}


def count(bucket: Body) -> int:
    """A bucket's count: of models when it carries `group_count`, else of products."""
    variants = bucket.get(VARIANTS_AGG)
    if variants is None:
        return int(bucket["doc_count"])
    return int(bucket["doc_count"]) - int(variants["doc_count"]) + int(variants[GROUPS_AGG]["value"])


def _counted(agg: Body, by_group: bool) -> Body:
    """`agg` (a terms or range aggregation) with its buckets counting models when `by_group`."""
    return {**agg, "aggs": group_count()} if by_group else agg


def aggregations(params: SearchParams, filters: Mapping[str, Body], attribute_keys: Sequence[str],
                 by_group: bool = False) -> Body:
    """Brand, category children, attributes, price and availability aggregations; `by_group`: every count
    counts models (a group with three red variants counts once under red), not products."""
    in_stock: Body = {"terms": {"field": f.IN_STOCK, "size": 2}}
    availability = _except(filters, "availability", in_stock)
    if by_group:  # a model is out of stock when none of its matching variants is in stock: count them all
        availability = {"filter": _others(filters, "availability") or {"match_all": {}},
                        "aggs": {"f": _counted(in_stock, True), **group_count()}}
    aggs: Body = {
        "brand": _except(filters, "brand", _counted({"terms": {"field": f.BRAND_KEYWORD, "size": BRAND_SIZE}},
                                                    by_group)),
        "category": _except(filters, "category", _counted({"terms": {
            "field": f.CATEGORY_PATH, "size": CATEGORY_SIZE, "include": category_children_regex(params.category)}},
            by_group)),
        "price": {"filter": _others(filters, "price") or {"match_all": {}}, "aggs": {
            "stats": {"stats": {"field": f.PRICE}},
            "ranges": _counted({"range": {"field": f.PRICE, "ranges": price_ranges()}}, by_group),
        }},
        "availability": availability,
    }
    unfiltered = [key for key in attribute_keys if f"{ATTR_PREFIX}{key}" not in filters]
    shared = unfiltered if len(unfiltered) > 1 else []
    for key in attribute_keys:  # a filtered one counts under every filter but its own
        if key not in shared:
            aggs[f"{ATTR_PREFIX}{key}"] = _except(filters, f"{ATTR_PREFIX}{key}",
                                                  _counted(_pairs([key], ATTRIBUTE_VALUE_SIZE), by_group))
    if shared:  # all counted under the same filters: one pass over the pairs for all of them
        aggs[ATTRIBUTES_AGG] = _except(filters, ATTRIBUTES_AGG,
                                       _counted(_pairs(shared, COMBINED_ATTRIBUTE_SIZE), by_group))
    return aggs


def _pairs(keys: Sequence[str], size: int) -> Body:
    """The most common `name=value` pairs of these attributes."""
    names = "|".join(lucene_regex_escape(key) for key in keys)
    include = f"({names}){f.ATTR_PAIR_SEPARATOR}.*" if len(keys) > 1 else f"{names}{f.ATTR_PAIR_SEPARATOR}.*"
    return {"terms": {"field": f.ATTR_PAIRS, "size": size, "include": include}}


def _unwrap(agg: Body | None) -> Body:
    if agg is None:
        return {}
    inner: Body = agg.get("f", agg)
    return inner


def _buckets(agg: Body | None) -> list[Body]:
    return list(_unwrap(agg).get("buckets", []))


def _attribute_values(aggs: Body, keys: Sequence[str]) -> dict[str, list[FacetValue]]:
    """Each attribute's values, most common first: from its own aggregation or from the shared one."""
    values: dict[str, list[FacetValue]] = {key: [] for key in keys}
    own = [bucket for key in keys for bucket in _buckets(aggs.get(f"{ATTR_PREFIX}{key}"))]
    for bucket in [*own, *_buckets(aggs.get(ATTRIBUTES_AGG))]:
        name, _, value = bucket["key"].partition(f.ATTR_PAIR_SEPARATOR)
        found = values.get(name)
        if found is not None and len(found) < ATTRIBUTE_VALUE_SIZE:
            found.append(FacetValue(value, count(bucket)))
    # Counted by model, the most common values may not be the first buckets (ordered by products).
    return {key: sorted(found, key=lambda v: -v.count) for key, found in values.items()}


def _by_count(agg: Body | None) -> list[Body]:
    """Buckets most common first by their count (by model, that can differ from OpenSearch's product order)."""
    return sorted(_buckets(agg), key=lambda b: -count(b))


def _availability(agg: Body | None) -> AvailabilityFacet:
    counts = {str(b.get("key_as_string", b["key"])): count(b) for b in _buckets(agg)}
    in_stock = counts.get("true", 0)
    if agg is not None and VARIANTS_AGG in agg:  # by model: out of stock = no matching variant in stock
        return AvailabilityFacet(in_stock=in_stock, out_of_stock=count(agg) - in_stock)
    return AvailabilityFacet(in_stock=in_stock, out_of_stock=counts.get("false", 0))


def _money(value: float | None) -> float | None:
    """Stats over a scaled_float come back with binary noise (3339.9900000000002)."""
    return None if value is None else round(value, 2)


def _price(stats: Body | None, ranges: Body | None) -> PriceFacet:
    values = _unwrap(stats)
    return PriceFacet(
        min=_money(values.get("min")), max=_money(values.get("max")),
        ranges=[PriceRange(from_=b.get("from"), to=b.get("to"), count=count(b)) for b in _buckets(ranges)],
    )


def parse(aggs: Body, attribute_keys: Sequence[str], category_names: Mapping[str, str]) -> Facets:
    """The facets of a response; attribute facets without any value are left out."""
    attributes = {key: values for key, values in _attribute_values(aggs, attribute_keys).items() if values}
    category = [CategoryFacetValue(value=b["key"], name=category_names.get(b["key"], b["key"].rsplit("/", 1)[-1]),
                                   count=count(b)) for b in _by_count(aggs.get("category"))]
    return Facets(
        brand=[FacetValue(b["key"], count(b)) for b in _by_count(aggs.get("brand"))],
        category=category,
        attributes=attributes,
        price=_price(aggs.get("price", {}).get("stats"), aggs.get("price", {}).get("ranges")),
        availability=_availability(aggs.get("availability")),
    )


def common_keys_body() -> Body:
    """The most common attribute names among active products (facets when no category is chosen)."""
    return {"size": 0, "query": {"term": {f.STATUS: "active"}},
            "aggs": {"keys": {"terms": {"field": f.ATTR_KEYS, "size": MAX_ATTRIBUTE_FACETS}}}}
