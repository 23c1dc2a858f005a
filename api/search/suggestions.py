"""As-you-type suggestions: products, brands and categories starting with what was typed (one per model)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import msgspec
from litestar.datastructures import State

from api.search import backend, query, service
from api.search.schemas import (
    MAX_QUERY_LENGTH,
    CategorySuggestion,
    FacetValue,
    ProductSuggestion,
    SearchParams,
    SuggestResponse,
)
from api.search.validation import invalid
from indexer import mapping as f

_suggest_decoder = msgspec.json.Decoder(SuggestResponse)
_encoder = msgspec.json.Encoder()


async def _suggest_uncached(state: State, rt: service.SearchRuntime, q: str, generation: str | None,
                            confined: Sequence[tuple[str, tuple[str, ...]]]) -> SuggestResponse:
    client, alias = state.opensearch, state.settings.index_alias
    body = query.suggest_body(q, scope=query.confined_clauses(SearchParams(confined=tuple(confined))))
    if await rt.has_variants(client, alias, generation):  # one suggestion per model, not one per color
        body["collapse"] = {"field": f.GROUP_KEY}
    raw = await backend.search(client, alias, body, query.SUGGEST_FILTER_PATH)
    hits = raw.get("hits", {}).get("hits", [])
    aggs = raw.get("aggregations", {})
    brand_buckets = aggs.get("brands", {}).get("values", {}).get("buckets", [])
    category_buckets = aggs.get("categories", {}).get("values", {}).get("buckets", [])
    taxonomy = await rt.current_taxonomy(state.sessions, [b["key"] for b in category_buckets])
    return SuggestResponse(
        query=q,
        products=[ProductSuggestion(int(h["_source"][f.ID]), h["_source"][f.SKU], h["_source"][f.NAME],
                                    h["_source"].get(f.BRAND)) for h in hits],
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
    normalized = query.normalize_query(q)
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
