"""As-you-type suggestions: products, brands and categories starting with what was typed (one per model)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Final

import msgspec
from litestar.datastructures import State

from catalog import index_contract as doc
from search import backend, facets, filtering, query, service
from search.schemas import (
    MAX_QUERY_LENGTH,
    CategorySuggestion,
    FacetValue,
    ProductSuggestion,
    SearchParams,
    SuggestResponse,
)
from search.validation import invalid
from search.words import normalize_query

_suggest_decoder = msgspec.json.Decoder(SuggestResponse)
_encoder = msgspec.json.Encoder()


def suggest_body(q: str, size: int = 6, scope: Sequence[query.Body] = ()) -> query.Body:
    """Products by as-you-type prefix (fuzzy from 3 characters), brands and category levels from the same hits;
    `scope`: filters the suggestions must stay inside (a scoped search key's)."""
    text = normalize_query(q)
    fuzzy = len(text.replace(" ", "")) >= 3
    fields = list(query.AUTOCOMPLETE_FIELDS)
    prefix: query.Body = {"multi_match": {"query": text, "type": "bool_prefix", "fields": fields, "operator": "and"}}
    should: list[query.Body] = [prefix]
    if fuzzy:
        should.append({"match": {doc.AUTOCOMPLETE: {"query": text, "operator": "and", "fuzziness": query.FUZZINESS,
                                                  "prefix_length": query.PREFIX_LENGTH, "boost": 0.5}}})
        should.append({"multi_match": {"query": text, "type": "bool_prefix", "fields": list(query.AUTOCOMPLETE_FIELDS),
                                       "operator": "and", "fuzziness": query.FUZZINESS,
                                       "prefix_length": query.PREFIX_LENGTH, "boost": 0.3}})
    last = text.split(" ")[-1] if text else ""
    if fuzzy and len(last) >= 3:
        # A typo in the word being typed ("samsung galx"): the earlier words fuzzy, the last one a fuzzy prefix
        # (the field's `_index_prefix` holds every word's leading characters).
        head = text[: -len(last)].strip()
        typed: list[query.Body] = [{"fuzzy": {f"{doc.AUTOCOMPLETE}._index_prefix": {
            "value": last, "fuzziness": query.FUZZINESS, "prefix_length": query.PREFIX_LENGTH}}}]
        if head:
            typed.insert(0, {"match": {doc.AUTOCOMPLETE: {"query": head, "operator": "and",
                                                          "fuzziness": query.FUZZINESS,
                                                          "prefix_length": query.PREFIX_LENGTH}}})
        should.append({"bool": {"must": typed, "boost": 0.2}})
    category_regex = f"(.*/)?{facets.lucene_regex_escape(last)}[^/]*"
    return {
        "size": size,
        "query": {"bool": {"filter": [filtering.active_only(), *scope], "should": should, "minimum_should_match": 1}},
        "sort": [{doc.IN_STOCK: "desc"}, {"_score": "desc"}, {doc.ID: "asc"}],
        "_source": [doc.ID, doc.SKU, doc.NAME, doc.BRAND],
        "aggs": {
            "brands": {"filter": {"bool": {"filter": [filtering.active_only()], "must": [{"multi_match": {
                "query": text, "type": "bool_prefix", "fields": [doc.BRAND], "operator": "and",
                **({"fuzziness": query.FUZZINESS, "prefix_length": query.PREFIX_LENGTH} if fuzzy else {})}}]}},
                "aggs": {"values": {"terms": {"field": doc.BRAND_KEYWORD, "size": 5}}}},
            "categories": {"filter": filtering.active_only(), "aggs": {"values": {"terms": {
                "field": doc.CATEGORY_PATH, "size": 5, "include": category_regex}}}},
        },
    }


SUGGEST_FILTER_PATH: Final = "took,hits.hits._source,aggregations"


async def _suggest_uncached(state: State, rt: service.SearchRuntime, q: str, generation: str | None,
                            confined: Sequence[tuple[str, tuple[str, ...]]]) -> SuggestResponse:
    client, alias = state.opensearch, state.settings.index_alias
    body = suggest_body(q, scope=filtering.confined_clauses(SearchParams(confined=tuple(confined))))
    if await rt.has_variants(client, alias, generation):  # one suggestion per model, not one per color
        body["collapse"] = {"field": doc.GROUP_KEY}
    raw = await backend.search(client, alias, body, SUGGEST_FILTER_PATH)
    hits = raw.get("hits", {}).get("hits", [])
    aggs = raw.get("aggregations", {})
    brand_buckets = aggs.get("brands", {}).get("values", {}).get("buckets", [])
    category_buckets = aggs.get("categories", {}).get("values", {}).get("buckets", [])
    taxonomy = await rt.current_taxonomy(state.sessions, [b["key"] for b in category_buckets])
    return SuggestResponse(
        query=q,
        products=[ProductSuggestion(int(h["_source"][doc.ID]), h["_source"][doc.SKU], h["_source"][doc.NAME],
                                    h["_source"].get(doc.BRAND)) for h in hits],
        brands=[FacetValue(b["key"], b["doc_count"]) for b in brand_buckets],
        categories=[CategorySuggestion(b["key"], taxonomy.names.get(b["key"], b["key"].rsplit("/", 1)[-1]),
                                       b["doc_count"]) for b in category_buckets],
        took_ms=0.0,
    )


async def suggest(state: State, q: str, use_cache: bool = True,
                  confined: Sequence[tuple[str, tuple[str, ...]]] = ()) -> SuggestResponse:
    """As-you-type suggestions; `confined`: filters they must stay inside (a scoped search key's)."""
    started = time.perf_counter()
    if len(q) > MAX_QUERY_LENGTH:
        raise invalid("q", f"at most {MAX_QUERY_LENGTH} characters")
    normalized = normalize_query(q)
    if not normalized:
        return SuggestResponse(query=q, products=[], brands=[], categories=[], took_ms=0.0)
    rt = service.runtime(state)
    identity = normalized + (_encoder.encode(list(confined)).decode() if confined else "")
    found = await rt.cache.lookup("s", identity if use_cache else None)
    if found.payload is not None:
        response = _suggest_decoder.decode(found.payload)
        response.query = q
    else:
        response = await _suggest_uncached(state, rt, q, found.generations[0], confined)
        rt.cache.put_later(found, _encoder.encode(response))
    response.took_ms = round((time.perf_counter() - started) * 1000, 2)
    return response
