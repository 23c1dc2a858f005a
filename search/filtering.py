"""The filter clauses of a search (pure, no I/O): what the shopper's filters, a scoped key's confined ones and a
merchandising rule's narrow the products to, as OpenSearch query clauses. Only sellable products are ever shown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog import index_contract as doc
from search import facets
from search.schemas import SearchParams

Body = dict[str, Any]


def active_only() -> Body:
    """Shoppers only ever see sellable products."""
    return {"term": {doc.STATUS: "active"}}


def confined_clauses(params: SearchParams) -> list[Body]:
    """The filters the shopper cannot widen (a scoped key's), as query clauses."""
    return [clause for name, values in params.confined if (clause := facet_filter(name, values)) is not None]


def in_stock_filter(in_stock: bool) -> Body:
    return {"term": {doc.IN_STOCK: in_stock}}


def facet_filter(name: str, values: Sequence[str]) -> Body | None:
    """The filter on one facet (`brand`, `category`, `attr.<name>`) for these values (any of them)."""
    if name == "category":
        return {"terms": {doc.CATEGORY_PATH: [value.strip("/") for value in values]}}
    if name == "brand":
        return {"terms": {doc.BRAND_KEYWORD: list(values)}}
    if name.startswith(facets.ATTR_PREFIX):
        key = name[len(facets.ATTR_PREFIX):]
        return {"terms": {doc.ATTR_PAIRS: [f"{key}{doc.ATTR_PAIR_SEPARATOR}{value}" for value in values]}}
    return None


def filter_clauses(params: SearchParams) -> dict[str, Body]:
    """Each filter the shopper set, keyed by its facet name (`attr.<name>` for attributes)."""
    clauses: dict[str, Body] = {}
    if params.category:
        clauses["category"] = {"term": {doc.CATEGORY_PATH: params.category}}
    if params.brands:
        clauses["brand"] = {"terms": {doc.BRAND_KEYWORD: list(params.brands)}}
    for name, values in params.attributes:
        clauses[f"attr.{name}"] = {"terms": {doc.ATTR_PAIRS: [f"{name}{doc.ATTR_PAIR_SEPARATOR}{v}" for v in values]}}
    if params.price_min is not None or params.price_max is not None:
        bounds: dict[str, float] = {}
        if params.price_min is not None:
            bounds["gte"] = params.price_min
        if params.price_max is not None:
            bounds["lte"] = params.price_max
        clauses["price"] = {"range": {doc.PRICE: bounds}}
    if params.in_stock is not None:
        clauses["availability"] = in_stock_filter(params.in_stock)
    return clauses


def combine(clauses: Sequence[Body]) -> Body | None:
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"bool": {"filter": list(clauses)}}
