"""Storefront search: validate the request, wait for freshness, serve from cache or one OpenSearch request.

Everything a search needs besides OpenSearch (synonyms, category names, facetable attributes, the most common
attribute keys) is cached in-process, so the hot path is two Redis calls and one OpenSearch round trip.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
from litestar.datastructures import State
from opensearchpy import AsyncOpenSearch
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog import index_contract as doc
from catalog.settings import Settings
from search import backend, cursors, facets, filtering, grouping, pins, query, rules
from search.cache import ResponseCache
from search.freshness import wait_until_searchable
from search.passes import Bodies, second_pass
from search.query_log import QueryLog, SearchRecord
from search.schemas import (
    GroupSummary,
    PriceSpan,
    Relaxed,
    SearchItem,
    SearchParams,
    SearchResponse,
)
from search.synonyms import SynonymStore
from search.validation import MAX_RESULT_WINDOW
from search.words import word_groups

log = logging.getLogger(__name__)

TAXONOMY_TTL: Final = 30.0
COMMON_KEYS_TTL: Final = 60.0
GROUPS_TTL: Final = 5.0
"""Without Redis (no index generation to key on), whether the index holds variants is asked again this often."""

_search_decoder = msgspec.json.Decoder(SearchResponse)
_encoder = msgspec.json.Encoder()


def cache_identity(params: SearchParams, fired: Sequence[rules.Rule] = ()) -> str:
    """The normalized request and the rules firing for it: equal for requests that must get equal answers."""
    request = _encoder.encode(msgspec.structs.replace(params, q=params.q.lower())).decode()
    return request + "".join(f"|rule:{rule.id}" for rule in fired)


async def firing(state: State, rt: SearchRuntime, params: SearchParams, generation: str | None
                 ) -> list[rules.Rule]:
    """The merchandising rules in force that fire for this search, under the settings generation given."""
    book = await rt.rules.rules(state.sessions, generation)
    if not book:
        return []
    expansions = await rt.synonyms.expansions(state.sessions, generation)
    return await rt.rules.firing(state.opensearch, book, params.q, params.category, expansions)


# --- cached catalog knowledge ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Taxonomy:
    names: dict[str, str] = field(default_factory=dict)
    facetable: dict[str, tuple[str, ...]] = field(default_factory=dict)
    never_facetable: frozenset[str] = frozenset()
    """Attributes defined somewhere and facetable nowhere (a GTIN): never a facet, even among the common keys."""

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> Taxonomy:
        """From the rows of TAXONOMY_SQL: (path, name, facetable attribute names, other attribute names)."""
        listed = list(rows)
        facetable = {r[0]: tuple(r[2]) for r in listed if r[2]}
        anywhere = {name for names in facetable.values() for name in names}
        never = frozenset(name for r in listed for name in r[3] if name not in anywhere)
        return cls({r[0]: r[1] for r in listed}, facetable, never)

    def facetable_for(self, category: str) -> list[str]:
        """Facetable attributes of the category, including those inherited from its ancestors."""
        keys: dict[str, None] = {}
        for level in doc.category_levels(category):
            keys.update(dict.fromkeys(self.facetable.get(level, ())))
        return list(keys)


TAXONOMY_SQL = text("""
SELECT c.path, c.name, coalesce(array_agg(a.name ORDER BY a.name) FILTER (WHERE a.facetable), '{}'),
       coalesce(array_agg(a.name ORDER BY a.name) FILTER (WHERE NOT a.facetable), '{}')
FROM categories c LEFT JOIN category_attributes a ON a.category_id = c.id
GROUP BY c.path, c.name
""")


@dataclass
class SearchRuntime:
    """Per-process search state: the cache, synonyms, analytics buffer and cached catalog knowledge."""

    cache: ResponseCache
    recorder: QueryLog
    synonyms: SynonymStore = field(default_factory=SynonymStore)
    rules: rules.RuleBook = field(default_factory=rules.RuleBook)
    taxonomy: Taxonomy = field(default_factory=Taxonomy)
    taxonomy_loaded: float = float("-inf")
    taxonomy_misses: set[str] = field(default_factory=set)
    common_keys: list[str] = field(default_factory=list)
    common_keys_loaded: float = float("-inf")
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    variants_indexed: bool = False
    variants_checked: tuple[str | None, float] = (None, float("-inf"))
    """The index generation (and the time) `variants_indexed` was last asked under."""

    async def has_variants(self, client: AsyncOpenSearch, alias: str, generation: str | None) -> bool:
        """Does the index hold any variant? Asked once per index generation (a refresh may add the first one),
        so a catalog without groups never pays for grouping."""
        checked, at = self.variants_checked
        if (generation is not None and generation == checked) or (generation is None and \
                time.monotonic() - at < GROUPS_TTL):
            return self.variants_indexed
        raw = await backend.search(client, alias, {"size": 0, "track_total_hits": 1, "terminate_after": 1,
                                                "query": {"exists": {"field": doc.GROUP_ID}}}, "hits.total.value")
        self.variants_indexed = backend.total(raw) > 0
        self.variants_checked = (generation, time.monotonic())
        return self.variants_indexed

    async def current_taxonomy(self, sessions: async_sessionmaker[AsyncSession], needed: Iterable[str]) -> Taxonomy:
        """The cached taxonomy; reloaded after the TTL, or once for each path it has never seen (a new category)."""
        unseen = {p for p in needed if p not in self.taxonomy.names and p not in self.taxonomy_misses}
        if time.monotonic() - self.taxonomy_loaded < TAXONOMY_TTL and not unseen:
            return self.taxonomy
        async with self.lock:
            async with sessions() as session:
                rows = (await session.execute(TAXONOMY_SQL)).all()
            self.taxonomy = Taxonomy.from_rows(rows)
            self.taxonomy_loaded = time.monotonic()
            # Paths still unknown (categories deleted since indexing) do not trigger reloads again until the TTL.
            known = self.taxonomy.names
            self.taxonomy_misses = {p for p in self.taxonomy_misses | unseen if p not in known}
        return self.taxonomy

    async def most_common_keys(self, client: AsyncOpenSearch, alias: str) -> list[str]:
        if time.monotonic() - self.common_keys_loaded < COMMON_KEYS_TTL:
            return self.common_keys
        self.common_keys_loaded = time.monotonic()
        raw = await backend.search(client, alias, facets.common_keys_body(), "aggregations")
        buckets = raw.get("aggregations", {}).get("keys", {}).get("buckets", [])
        self.common_keys = [b["key"] for b in buckets]
        return self.common_keys


async def settings_changed(state: State) -> None:
    """Synonyms or merchandising rules changed: every process reloads both on its next search (the settings
    generation moves, which also retires every cached answer); this one at once."""
    rt = runtime(state)
    rt.synonyms.invalidate()
    rt.rules.invalidate()
    await rt.cache.bump_synonyms()


def runtime(state: State) -> SearchRuntime:
    """The process's SearchRuntime, created on first use (the app lifespan owns the clients it wraps)."""
    found = getattr(state, "search_runtime", None)
    if isinstance(found, SearchRuntime):
        return found
    settings: Settings = state.settings
    created = SearchRuntime(ResponseCache(state.redis, settings.index_alias), QueryLog(state.sessions))
    state.search_runtime = created
    return created


def _item(hit: dict[str, Any], models: Mapping[int, grouping.Model] | None = None) -> SearchItem:
    src = hit["_source"]
    images = src.get(doc.IMAGES) or []
    score = hit.get("_score")
    item = SearchItem(
        id=int(src[doc.ID]), sku=src[doc.SKU], name=src[doc.NAME], brand=src.get(doc.BRAND),
        price=float(src[doc.PRICE]),
        currency=src[doc.CURRENCY], category_path=src.get(doc.CATEGORY_PATH) or [], in_stock=bool(src[doc.IN_STOCK]),
        available=int(src.get(doc.AVAILABLE) or 0), image=images[0] if images else None,
        highlights=hit.get("highlight", {}), score=score if isinstance(score, float | int) else None,
    )
    model = (models or {}).get(src.get(doc.GROUP_ID, -1))
    if model is not None:
        skus = model.skus or [item.sku]
        prices = model.prices or [item.price]
        item.group = GroupSummary(model.id, model.code, model.name, model.variant_count, skus)
        item.price_range = PriceSpan(min(prices), max(prices))
    return item


def _next_cursor(params: SearchParams, hits: list[dict[str, Any]], ranked: list[dict[str, Any]], total: int,
                 grouped: bool) -> str | None:
    """`hits`: the page; `ranked`: its ranked hits (a search_after cursor continues after the last of them)."""
    if len(hits) < params.per_page or not hits or params.offset + len(hits) >= total:
        return None
    if grouped:
        after = params.offset + len(hits)
        return cursors.encode_cursor(params.sort, after) if after + params.per_page <= MAX_RESULT_WINDOW else None
    return cursors.encode_cursor(params.sort, ranked[-1]["sort"]) if ranked else None


@dataclass
class SearchRequest:
    params: SearchParams
    after_change: int | None = None
    use_cache: bool = True
    query_id: str = ""
    """Given to the response and recorded with the search (click and conversion events refer to it)."""
    search_key_id: int | None = None
    """The scoped search key the request came with (its filter is in `params.confined`)."""


def facet_category(params: SearchParams) -> str | None:
    """The category whose facetable attributes the facets show: the shopper's, else the one category a scoped
    search key confines the storefront to (a phones storefront shows the phones' facets)."""
    if params.category:
        return params.category
    confined = dict(params.confined).get("category", ())
    return confined[0] if len(confined) == 1 else None


async def _facet_keys(rt: SearchRuntime, client: AsyncOpenSearch, alias: str, params: SearchParams,
                      category: str | None, taxonomy: Taxonomy, steered: Sequence[str]) -> list[str]:
    """Attribute facets: facetable for the facets' `category` (else the catalog's most common keys), plus the filtered
    ones (the shopper's, and `steered`: those a firing rule filters on)."""
    keys = taxonomy.facetable_for(category) if category else []
    if not keys:
        keys = [k for k in await rt.most_common_keys(client, alias) if k not in taxonomy.never_facetable]
    return list(dict.fromkeys([*keys[: facets.MAX_ATTRIBUTE_FACETS], *(name for name, _ in params.attributes),
                               *steered]))


@dataclass
class Trace:
    """How an answer came about, for the search preview: the parameters of the pass shown (a corrected spelling
    replaces the query) and the ids of the pinned products on the page."""

    params: SearchParams | None = None
    pinned: dict[int, int] = field(default_factory=dict)
    """Product id -> the rule whose pin placed it."""


async def answer(state: State, rt: SearchRuntime, params: SearchParams, expansions: Mapping[str, tuple[str, ...]],
                 fresh: bool = True, generation: str | None = None, steer: query.Steering = query.NO_STEERING,
                 trace: Trace | None = None) -> SearchResponse:
    """The answer to one search, computed (no cache): the exact first pass, and the second when it came back short.
    `generation`: the index generation it is computed under (whether the index holds variants is asked once per
    generation); `steer`: what the merchandising rules firing for it do (see `search.rules`); `trace`: filled
    in for the preview."""
    client: AsyncOpenSearch = state.opensearch
    alias = state.settings.index_alias
    category = facet_category(params)
    taxonomy = await rt.current_taxonomy(state.sessions, [category] if category else [])
    keys = await _facet_keys(rt, client, alias, params, category, taxonomy, steer.facet_attributes)
    # A search_after cursor comes from an ungrouped first page: the rest of it stays ungrouped.
    grouped = params.group and params.search_after is None and await rt.has_variants(client, alias, generation)
    pinned: list[tuple[int, dict[str, Any], int]] = []
    if steer.pins and params.search_after is None:  # cursor pages show the ranking as it is
        pinned, steer = await pins.place_pins(client, alias, params, steer)
    bodies = Bodies(params, keys, expansions, grouped, steer)
    first = bodies.build(query.EXACT)
    groups = len(word_groups(params.q, expansions))
    widened = None
    if groups >= query.WIDEN_FROM_GROUPS:
        # Three words or more usually name one product (most such queries find fewer than a page): the widened
        # search rides along in the same round trip, and when it finds more, no probe is needed.
        widened_body = bodies.build(query.WIDENED_EXACT)
        raw, widened = await backend.search_many(client, alias, [first, widened_body], query.SEARCH_FILTER_PATH, params)
    elif not params.q:  # browsing: the facets apart, so the shard request cache serves them for the next page
        raw = await backend.search_facets_apart(client, alias, first, query.SEARCH_FILTER_PATH, params)
    else:
        raw = await backend.search(client, alias, first, query.SEARCH_FILTER_PATH, params)
    body, total = first, backend.total(raw)
    suggestion, corrected, relaxed = None, False, None
    # Found some, with one or two words: widening would still need every word, and the exact words did match.
    short = total == 0 or (total < query.RELAX_BELOW and groups >= query.WIDEN_FROM_GROUPS)
    if short and total and widened is not None and backend.total(widened) > total:
        raw, body, total = widened, widened_body, backend.total(widened)
        relaxed = Relaxed(dropped=[], any_word=True)
    elif groups and short:
        second = await second_pass(client, alias, bodies, total, widen=widened is None)
        suggestion = second.suggestion
        if second.raw is not None and second.body is not None:
            raw, body, total, corrected = second.raw, second.body, backend.total(second.raw), second.corrected
            params = second.params or params
            if second.matching.relaxed:
                relaxed = Relaxed(dropped=list(second.matching.dropped), any_word=second.matching.any_word)
    ranked = raw.get("hits", {}).get("hits", [])
    hits = pins.with_pins(ranked, pinned, params.offset, params.per_page) if pinned else ranked
    total += len(pinned)
    aggs = raw.get("aggregations", {})
    models: dict[int, grouping.Model] = {}
    variants = None
    if grouped:
        filters = {name: clause for name, clause in filtering.filter_clauses(params).items() if name != "category"}
        facet_counts = facets.model_counts_body(body["query"], params, filters, keys, aggs) \
            if aggs.get(facets.SCOPE_VARIANTS, {}).get("doc_count") else None
        models, variants = await grouping.models_for(state, body, hits, params.sort, facet_counts)
    paths = [b["key"] for b in facets._buckets(aggs.get("category"))]
    if any(p not in taxonomy.names for p in paths):
        taxonomy = await rt.current_taxonomy(state.sessions, paths)
    if trace is not None:
        trace.params, trace.pinned = params, {int(hit["_source"][doc.ID]): rule_id for _, hit, rule_id in pinned}
    return SearchResponse(
        query=params.q if not corrected else suggestion or params.q, total=total, page=params.page,
        per_page=params.per_page, items=[_item(h, models) for h in hits],
        facets=facets.parse(aggs, keys, taxonomy.names, variants), did_you_mean=suggestion, corrected=corrected,
        relaxed=relaxed, next_cursor=_next_cursor(params, hits, ranked, total, grouped), fresh=fresh, took_ms=0.0,
        applied_rules=list(steer.rule_ids),
    )


def _analytics_filters(params: SearchParams) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if params.category:
        filters["category"] = params.category
    if params.brands:
        filters["brand"] = list(params.brands)
    for name, values in params.attributes:
        filters[f"attr.{name}"] = list(values)
    for key in ("price_min", "price_max", "in_stock"):
        if (value := getattr(params, key)) is not None:
            filters[key] = value
    return filters


async def search(state: State, request: SearchRequest) -> SearchResponse:
    """One storefront search: one Redis round trip, then the cached answer or one OpenSearch round trip."""
    started = time.perf_counter()
    rt = runtime(state)
    params = request.params
    fresh = True
    if request.after_change is not None:
        fresh = await wait_until_searchable(state.sessions, request.after_change)
    # The rules firing for this search are part of what the answer is cached under (a rule starting or ending
    # changes it); they are worked out with the rules and synonyms of the last known settings generation, and again
    # if the lookup shows the settings moved since.
    fired = await firing(state, rt, params, rt.synonyms.generation)
    found = await rt.cache.lookup("q", cache_identity(params, fired) if request.use_cache else None)
    if found.generations[1] != rt.synonyms.generation or rt.synonyms.generation is None:
        now_fired = await firing(state, rt, params, found.generations[1])
        if [r.id for r in now_fired] != [r.id for r in fired]:
            key = rt.cache.key("q", cache_identity(params, now_fired)) if found.key else None
            found = dataclasses.replace(found, key=key, payload=None)
        fired = now_fired
    if found.payload is not None:
        response = _search_decoder.decode(found.payload)
        response.fresh = fresh
    else:
        expansions = await rt.synonyms.expansions(state.sessions, found.generations[1])
        response = await answer(state, rt, params, expansions, fresh, found.generations[0], rules.steering(fired))
        if fresh:
            rt.cache.put_later(found, _encoder.encode(response))
    response.took_ms = round((time.perf_counter() - started) * 1000, 2)
    response.query_id = request.query_id
    rt.recorder.record(SearchRecord(params.q, _analytics_filters(params), params.sort, response.total,
                                    response.took_ms, found.payload is not None, request.query_id or None,
                                    tuple(response.applied_rules), request.search_key_id))
    return response
