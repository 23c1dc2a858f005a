"""Facet exploration over the search index: OpenSearch terms aggregations under the dashboard's filters.

Field names come from the indexer's mapping module (the one place that knows the search document).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pandas as pd
from opensearchpy import OpenSearch

from catalog import index_contract as doc
from catalog import opensearch_client
from catalog.settings import Settings
from db.analytics.common import Filters

FACET_SIZE: Final = 25
FACETS: Final[dict[str, str]] = {
    "category": doc.CATEGORY_PATH,
    "brand": doc.BRAND_KEYWORD,
    "status": doc.STATUS,
    "in stock": doc.IN_STOCK,
    "missing field": doc.MISSING_FIELDS,
    "currency": doc.CURRENCY,
    "attribute": doc.ATTR_PAIRS,
}
"""Dashboard label -> document field (the labels are the catalog's words for them)."""


@dataclass(frozen=True)
class FacetResult:
    """`documents` match the filters; `buckets` has value and products; `other` counts what the top left out."""

    documents: int
    other: int
    buckets: pd.DataFrame


def make_client(settings: Settings) -> OpenSearch:
    """A client of every node that fails fast: a dashboard page must not hang on a slow or absent search node (one
    that refused a connection is left out of the rotation for 5 s, so the next render asks another)."""
    return opensearch_client.make_client(settings, timeout=5)


def filter_query(f: Filters) -> dict[str, Any]:
    """The global filters that exist in the search document (stock per warehouse and dates do not)."""
    clauses: list[dict[str, Any]] = []
    if f.category:
        clauses.append({"term": {doc.CATEGORY_PATH: f.category}})
    if f.brand:
        clauses.append({"term": {doc.BRAND_KEYWORD: f.brand}})
    return {"bool": {"filter": clauses}}


def _terms(field: str, f: Filters, attribute: str | None) -> dict[str, Any]:
    terms: dict[str, Any] = {"field": field, "size": FACET_SIZE}
    if field == doc.CATEGORY_PATH:
        # Children of the chosen category (top level without one); slugs hold no regex metacharacters.
        terms["include"] = f"{f.category}/[^/]+" if f.category else "[^/]+"
    elif field == doc.ATTR_PAIRS and attribute:
        terms["include"] = f"{attribute}{doc.ATTR_PAIR_SEPARATOR}.*"
    return terms


def _label(bucket: dict[str, Any], field: str, attribute: str | None) -> str:
    value = str(bucket.get("key_as_string", bucket["key"]))
    if field == doc.ATTR_PAIRS and attribute:
        return value.split(doc.ATTR_PAIR_SEPARATOR, 1)[1]
    return value


def facet(client: OpenSearch, alias: str, f: Filters, field: str, attribute: str | None = None) -> FacetResult:
    """Top values of one facet field and their document counts."""
    body = {"size": 0, "track_total_hits": True, "query": filter_query(f),
            "aggs": {"facet": {"terms": _terms(field, f, attribute)}}}
    response = client.search(index=alias, body=body)
    aggregation = response["aggregations"]["facet"]
    rows = [{"value": _label(b, field, attribute), "products": int(b["doc_count"])} for b in aggregation["buckets"]]
    return FacetResult(int(response["hits"]["total"]["value"]), int(aggregation.get("sum_other_doc_count", 0)),
                       pd.DataFrame(rows, columns=["value", "products"]))


def attribute_names(client: OpenSearch, alias: str, f: Filters, size: int = 200) -> list[str]:
    """Attribute names present on the filtered products, most common first."""
    body = {"size": 0, "query": filter_query(f), "aggs": {"keys": {"terms": {"field": doc.ATTR_KEYS, "size": size}}}}
    response = client.search(index=alias, body=body)
    return [str(b["key"]) for b in response["aggregations"]["keys"]["buckets"]]
