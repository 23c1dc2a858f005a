"""Disjunctive facets: every facet counts under all filters except its own, in the one search request.

The main query carries what no facet needs to look past (active products, the text, the chosen category: the
category facet lists that category's children); the shopper's other filters go to `post_filter` for the hits,
and each facet's aggregation is wrapped in a `filter` of the other filters. Price stats and ranges share one
wrapper, and so do the attribute facets the shopper has not filtered on (one terms aggregation for all of them).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from catalog import index_contract as doc
from search.schemas import (
    AvailabilityFacet,
    CategoryFacetValue,
    Facets,
    FacetValue,
    PriceFacet,
    PriceRange,
    SearchParams,
)

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
    return {VARIANTS_AGG: {"filter": {"exists": {"field": doc.GROUP_ID}}, "aggs": {GROUPS_AGG: {
        "cardinality": {"field": doc.GROUP_ID, "precision_threshold": GROUP_PRECISION}}}}}


def count(bucket: Body) -> int:
    """A bucket's count: of models when it carries `group_count`, else of products."""
    variants = bucket.get(VARIANTS_AGG)
    if variants is None:
        return int(bucket["doc_count"])
    return int(bucket["doc_count"]) - int(variants["doc_count"]) + int(variants[GROUPS_AGG]["value"])


SCOPE_VARIANTS: Final = "scope_variants"


def scope_variants() -> Body:
    """Whether any variant is among the products the facets count (then `model_counts_body` corrects them)."""
    return {"filter": {"exists": {"field": doc.GROUP_ID}}}


def aggregations(params: SearchParams, filters: Mapping[str, Body], attribute_keys: Sequence[str]) -> Body:
    """Brand, category children, attributes, price and availability aggregations (counting products; a grouped
    search corrects the counts to models with `model_counts_body`)."""
    aggs: Body = {
        "brand": _except(filters, "brand", {"terms": {"field": doc.BRAND_KEYWORD, "size": BRAND_SIZE}}),
        "category": _except(filters, "category", {"terms": {
            "field": doc.CATEGORY_PATH, "size": CATEGORY_SIZE, "include": category_children_regex(params.category)}}),
        "price": {"filter": _others(filters, "price") or {"match_all": {}}, "aggs": {
            "stats": {"stats": {"field": doc.PRICE}},
            "ranges": {"range": {"field": doc.PRICE, "ranges": price_ranges()}},
        }},
        "availability": _except(filters, "availability", {"terms": {"field": doc.IN_STOCK, "size": 2}}),
    }
    for name, own, keys, size in _attribute_aggs(filters, attribute_keys):
        aggs[name] = _except(filters, own, _pairs(keys, size))
    return aggs


def _attribute_aggs(filters: Mapping[str, Body], attribute_keys: Sequence[str]
                    ) -> list[tuple[str, str, list[str], int]]:
    """(aggregation name, the filter it ignores, its attributes, size): a filtered attribute counts under every
    filter but its own; the others share one terms aggregation, one pass over the pairs for all of them."""
    unfiltered = [key for key in attribute_keys if f"{ATTR_PREFIX}{key}" not in filters]
    shared = unfiltered if len(unfiltered) > 1 else []
    found = [(f"{ATTR_PREFIX}{key}", f"{ATTR_PREFIX}{key}", [key], ATTRIBUTE_VALUE_SIZE)
             for key in attribute_keys if key not in shared]
    if shared:
        found.append((ATTRIBUTES_AGG, ATTRIBUTES_AGG, shared, COMBINED_ATTRIBUTE_SIZE))
    return found


def _groups() -> Body:
    return {GROUPS_AGG: {"cardinality": {"field": doc.GROUP_ID, "precision_threshold": GROUP_PRECISION}}}


def model_counts_body(found: Body, params: SearchParams, filters: Mapping[str, Body],
                      attribute_keys: Sequence[str], shown: Body) -> Body:
    """A grouped search's second, light request: over the variants among what the search `found` matched,
    how many variants and how many groups each facet value the first answer `shown` holds (`count`: products -
    variants + groups). Counting the variants apart, and only for the values shown, keeps the first request's
    aggregations as cheap as an ungrouped search's (per-bucket sub-aggregations there cost +50% at 1M)."""

    def counted(field: str, keys: Sequence[Any]) -> Body:
        return {"terms": {"field": field, "include": list(keys), "size": max(1, len(keys))}, "aggs": _groups()}

    aggs: Body = {
        "brand": _except(filters, "brand", counted(doc.BRAND_KEYWORD,
                                                   [b["key"] for b in _buckets(shown.get("brand"))])),
        "category": _except(filters, "category", counted(doc.CATEGORY_PATH,
                                                         [b["key"] for b in _buckets(shown.get("category"))])),
        "price": {"filter": _others(filters, "price") or {"match_all": {}}, "aggs": {
            "ranges": {"range": {"field": doc.PRICE, "ranges": price_ranges()}, "aggs": _groups()}}},
        "availability": {"filter": _others(filters, "availability") or {"match_all": {}},
                         "aggs": {"f": {"terms": {"field": doc.IN_STOCK, "size": 2}, "aggs": _groups()}, **_groups()}},
    }
    for name, own, _, _ in _attribute_aggs(filters, attribute_keys):
        aggs[name] = _except(filters, own, counted(doc.ATTR_PAIRS, _shown_pairs(_buckets(shown.get(name)))))
    query = {"bool": {"filter": [found, {"exists": {"field": doc.GROUP_ID}}]}}
    return {"size": 0, "track_total_hits": False, "query": query, "aggs": aggs}


def _pairs(keys: Sequence[str], size: int) -> Body:
    """The most common `name=value` pairs of these attributes."""
    names = "|".join(lucene_regex_escape(key) for key in keys)
    include = f"({names}){doc.ATTR_PAIR_SEPARATOR}.*" if len(keys) > 1 else f"{names}{doc.ATTR_PAIR_SEPARATOR}.*"
    return {"terms": {"field": doc.ATTR_PAIRS, "size": size, "include": include}}


def _unwrap(agg: Body | None) -> Body:
    if agg is None:
        return {}
    inner: Body = agg.get("f", agg)
    return inner


def _buckets(agg: Body | None) -> list[Body]:
    return list(_unwrap(agg).get("buckets", []))


def _shown_pairs(buckets: Sequence[Body]) -> list[str]:
    """The `name=value` pairs a facet list shows: each attribute's first ATTRIBUTE_VALUE_SIZE."""
    per_attribute: dict[str, int] = {}
    shown = []
    for bucket in buckets:
        attribute = bucket["key"].partition(doc.ATTR_PAIR_SEPARATOR)[0]
        if per_attribute.get(attribute, 0) < ATTRIBUTE_VALUE_SIZE:
            per_attribute[attribute] = per_attribute.get(attribute, 0) + 1
            shown.append(bucket["key"])
    return shown


Counter = Callable[[str, Body], int]


def _product_count(_: str, bucket: Body) -> int:
    return int(bucket["doc_count"])


def model_counter(variants: Body | None) -> Counter:
    """Counts per model from the `model_counts_body` answer: a bucket's products, less its variants, plus their
    groups; products when there is none."""
    if variants is None:
        return _product_count
    found = {name: {_key(b): b for b in _buckets(agg if name != "price" else agg.get("ranges"))}
             for name, agg in variants.items()}

    def count_(name: str, bucket: Body) -> int:
        variant = found.get(name, {}).get(_key(bucket))
        doc_count = int(bucket["doc_count"])
        return doc_count if variant is None else doc_count - int(variant["doc_count"]) + int(
            variant[GROUPS_AGG]["value"])
    return count_


def _key(bucket: Body) -> str:
    return str(bucket.get("key_as_string", bucket["key"]))


def _attribute_values(aggs: Body, keys: Sequence[str], count_: Counter) -> dict[str, list[FacetValue]]:
    """Each attribute's values, most common first: from its own aggregation or from the shared one."""
    values: dict[str, list[FacetValue]] = {key: [] for key in keys}
    own = [(f"{ATTR_PREFIX}{key}", bucket) for key in keys for bucket in _buckets(aggs.get(f"{ATTR_PREFIX}{key}"))]
    for name, bucket in [*own, *((ATTRIBUTES_AGG, b) for b in _buckets(aggs.get(ATTRIBUTES_AGG)))]:
        attribute, _, value = bucket["key"].partition(doc.ATTR_PAIR_SEPARATOR)
        found = values.get(attribute)
        if found is not None and len(found) < ATTRIBUTE_VALUE_SIZE:
            found.append(FacetValue(value, count_(name, bucket)))
    # Counted by model, the most common values may not be the first buckets (ordered by products).
    return {key: sorted(found, key=lambda v: -v.count) for key, found in values.items()}


def _by_count(name: str, agg: Body | None, count_: Counter) -> list[tuple[Body, int]]:
    """Buckets with their counts, most common first (by model, that can differ from OpenSearch's product order)."""
    return sorted(((b, count_(name, b)) for b in _buckets(agg)), key=lambda pair: -pair[1])


def _availability(agg: Body | None, variants: Body | None, count_: Counter) -> AvailabilityFacet:
    buckets = _buckets(agg)
    counts = {_key(b): count_("availability", b) for b in buckets}
    in_stock = counts.get("true", 0)
    wrapper = (variants or {}).get("availability")
    if wrapper is not None:  # by model: out of stock = no matching variant in stock
        everything = sum(int(b["doc_count"]) for b in buckets) - int(wrapper["doc_count"]) + int(
            wrapper[GROUPS_AGG]["value"])
        return AvailabilityFacet(in_stock=in_stock, out_of_stock=everything - in_stock)
    return AvailabilityFacet(in_stock=in_stock, out_of_stock=counts.get("false", 0))


def _money(value: float | None) -> float | None:
    """Stats over a scaled_float come back with binary noise (3339.9900000000002)."""
    return None if value is None else round(value, 2)


def _price(stats: Body | None, ranges: Body | None, count_: Counter) -> PriceFacet:
    values = _unwrap(stats)
    return PriceFacet(
        min=_money(values.get("min")), max=_money(values.get("max")),
        ranges=[PriceRange(from_=b.get("from"), to=b.get("to"), count=count_("price", b)) for b in _buckets(ranges)],
    )


def parse(aggs: Body, attribute_keys: Sequence[str], category_names: Mapping[str, str],
          variants: Body | None = None) -> Facets:
    """The facets of a response (counts of models when `variants`, the `model_counts_body` answer, is given);
    attribute facets without any value are left out."""
    count_ = model_counter(variants)
    attributes = {key: values for key, values in _attribute_values(aggs, attribute_keys, count_).items() if values}
    category = [CategoryFacetValue(value=b["key"], name=category_names.get(b["key"], b["key"].rsplit("/", 1)[-1]),
                                   count=n) for b, n in _by_count("category", aggs.get("category"), count_)]
    return Facets(
        brand=[FacetValue(b["key"], n) for b, n in _by_count("brand", aggs.get("brand"), count_)],
        category=category,
        attributes=attributes,
        price=_price(aggs.get("price", {}).get("stats"), aggs.get("price", {}).get("ranges"), count_),
        availability=_availability(aggs.get("availability"), variants, count_),
    )


def common_keys_body() -> Body:
    """The most common attribute names among active products (facets when no category is chosen)."""
    return {"size": 0, "query": {"term": {doc.STATUS: "active"}},
            "aggs": {"keys": {"terms": {"field": doc.ATTR_KEYS, "size": MAX_ATTRIBUTE_FACETS}}}}
