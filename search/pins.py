"""Pinned products on a page: which pins are sellable now, where each goes, and the page around them (see the
precedence in `search.rules`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from opensearchpy import AsyncOpenSearch

from catalog import index_contract as doc
from search import backend, filtering, query
from search.schemas import SearchParams


def pins_body(params: SearchParams, steering: query.Steering) -> query.Body:
    """The pinned products a shopper may be shown now: active, in stock, under every filter of the search."""
    skus = list(dict.fromkeys(sku for sku, _, _ in steering.pins))
    required = [filtering.active_only(), filtering.in_stock_filter(True), *filtering.confined_clauses(params),
                *steering.scope, *filtering.filter_clauses(params).values(), {"terms": {doc.SKU: skus}}]
    found: query.Body = {"bool": {"filter": required}}
    if steering.hidden:
        found["bool"]["must_not"] = [{"terms": {doc.SKU: list(steering.hidden)}}]
    return {"size": len(skus), "query": found, "_source": [*query.SOURCE_FIELDS, doc.GROUP_KEY]}


async def place_pins(client: AsyncOpenSearch, alias: str, params: SearchParams, steer: query.Steering
                      ) -> tuple[list[tuple[int, dict[str, Any], int]], query.Steering]:
    """The sellable pinned products at their (0-based) places on this page with the rule that pinned each, and
    the steering that keeps them out of the ranked hits and leaves the page's other places to those (one light
    request before the search)."""
    raw = await backend.search(client, alias, pins_body(params, steer), "hits.hits._source")
    by_sku = {hit["_source"][doc.SKU].lower(): hit for hit in raw.get("hits", {}).get("hits", [])}
    taken: dict[int, tuple[dict[str, Any], int]] = {}
    keys: list[str] = []
    for sku, position, rule_id in steer.pins:
        hit = by_sku.get(sku)
        if hit is None or hit["_source"][doc.GROUP_KEY] in keys:  # not sellable now, or its model is placed
            continue
        place = position - 1
        while place in taken:
            place += 1
        taken[place] = ({**hit, "_score": None}, rule_id)
        keys.append(hit["_source"][doc.GROUP_KEY])
    start, size = params.offset, params.per_page
    before = sum(1 for place in taken if place < start)
    on_page = [(place, hit, rule_id) for place, (hit, rule_id) in sorted(taken.items(), key=lambda kv: kv[0])
               if start <= place < start + size]
    window = (start - before, size - len(on_page))
    return on_page, dataclasses.replace(steer, excluded_keys=tuple(keys), window=window)


def with_pins(ranked: list[dict[str, Any]], pinned: list[tuple[int, dict[str, Any], int]], start: int, size: int
               ) -> list[dict[str, Any]]:
    """The page: each pinned product at its place, the ranked hits in the others (pins placed past the last
    ranked hit follow it)."""
    places = {place: hit for place, hit, _ in pinned}
    rest = iter(ranked)
    page: list[dict[str, Any]] = []
    for place in range(start, start + size):
        if place in places:
            page.append(places.pop(place))
        elif (hit := next(rest, None)) is not None:
            page.append(hit)
        else:
            break
    return page + [hit for _, hit in sorted(places.items())]
