"""The search preview: what a shopper gets for a search, with the rules that fired and, per hit, why it ranks
there (for merchandisers checking a rule before and after).

A hit's relevance score is its text match multiplied by the ranking's factors (a query word naming its category or
brand, being in stock, each merchandising boost). Which factors a hit earned is asked of OpenSearch directly, one
filter query per factor restricted to the page's products (one `_msearch`), so the figures are the engine's own,
not a re-implementation; the text match is what remains of the score.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Final

from litestar.datastructures import State
from msgspec import Struct

from catalog import index_contract as doc
from search import backend, query, rules, service
from search.schemas import SearchParams, SearchResponse
from search.words import tokenize, word_groups

EXACT_REASON: Final = "the query is its SKU or its whole name"


class Factor(Struct):
    reason: str
    weight: float
    rule_id: int | None = None


class HitExplanation(Struct):
    position: int
    id: int
    sku: str
    pinned: bool
    """Placed by a rule's pin (then no score: pins are placed, not ranked)."""
    pinned_by: int | None
    score: float | None
    factors: list[Factor]
    """The ranking factors this hit earned (multiplied into its score)."""
    text_match: float | None
    """The score before the factors: how well the words match (None without words or for a pin)."""


class RuleBrief(Struct):
    id: int
    name: str


class SearchPreview(Struct):
    search: SearchResponse
    rules: list[RuleBrief]
    """The rules that fired, oldest first."""
    explanations: list[HitExplanation]


def _factors(params: SearchParams, expansions: Mapping[str, Sequence[str]], fired: Sequence[rules.Rule]
             ) -> list[tuple[Factor, query.Body]]:
    """Every factor the ranking of this search can multiply in, with the filter that earns it."""
    found: list[tuple[Factor, query.Body]] = []
    relevance = params.sort == "relevance"
    if tokenize(params.q):
        groups = word_groups(params.q, expansions)
        labels = [reason for text_, _ in groups for reason in (f"'{text_}' names its category",
                                                             f"'{text_}' names its brand")] + ["in stock"]
        found += [(Factor(label, float(fn["weight"])), fn["filter"])
                  for label, fn in zip(labels, query.ranking_weights(groups), strict=True)]
    if relevance:
        found += [(Factor(f"boost of rule {rule.id}", weight, rule.id), clause)
                  for rule in fired for clause, weight in rule.boosts]
    return found


async def preview(state: State, params: SearchParams) -> SearchPreview:
    """The answer a shopper gets now (never cached), explained."""
    rt = service.runtime(state)
    generations = await rt.cache.generations()
    expansions = await rt.synonyms.expansions(state.sessions, generations[1])
    fired = await service.firing(state, rt, params, generations[1])
    trace = service.Trace()
    started = time.perf_counter()
    response = await service.answer(state, rt, params, expansions, True, generations[0], rules.steering(fired),
                                    trace=trace)
    response.took_ms = round((time.perf_counter() - started) * 1000, 2)
    shown = trace.params or params
    candidates = _factors(shown, expansions, fired) if response.items else []
    page_ids = [item.id for item in response.items]
    earned: list[set[int]] = []
    if candidates:
        bodies = [{"size": len(page_ids), "_source": False,
                   "query": {"bool": {"filter": [{"terms": {doc.ID: page_ids}}, clause]}}} for _, clause in candidates]
        found = await backend.search_many(state.opensearch, state.settings.index_alias, bodies, "hits.hits._id")
        earned = [{int(hit["_id"]) for hit in raw.get("hits", {}).get("hits", [])} for raw in found]
    words = bool(tokenize(shown.q))
    explanations = []
    for position, item in enumerate(response.items, start=1):
        pinned = item.id in trace.pinned
        factors = [factor for (factor, _), ids in zip(candidates, earned, strict=True) if item.id in ids]
        if pinned:
            factors = []
        product = math.prod(factor.weight for factor in factors)
        score = None if pinned else item.score
        text_match = None
        if score is not None and words:
            if score >= query.EXACT_BOOST:
                factors.append(Factor(EXACT_REASON, query.EXACT_BOOST))
                score_left = score - query.EXACT_BOOST
            else:
                score_left = score
            text_match = round(score_left / product, 4) if product else None
        explanations.append(HitExplanation(position, item.id, item.sku, pinned, trace.pinned.get(item.id), score,
                                           factors, text_match))
    return SearchPreview(response, [RuleBrief(rule.id, rule.name) for rule in fired], explanations)

