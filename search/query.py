"""Pure builders of OpenSearch request bodies from validated search parameters (no I/O).

Only `match`, `match_phrase`, `multi_match`, `term(s)`, `prefix` and `range` are used, never `query_string` or
`wildcard`: whatever a shopper types is analysed as text, so no character is syntax.

A search is a first pass with the words matched exactly and, only when it finds fewer than a page, a light probe
and one more pass (typos, spelling, widening, relaxation; see `Matching` and `search.service`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from catalog import index_contract as doc
from search import facets
from search.filtering import active_only, combine, confined_clauses, filter_clauses
from search.schemas import SearchParams
from search.words import Expansions, group_terms, normalize_query, tokenize, word_groups

Body = dict[str, Any]

FUZZINESS: Final = "AUTO"  # 0 edits up to 2 chars, 1 edit for 3-5, 2 edits from 6 characters
PREFIX_LENGTH: Final = 1  # the first letter is trusted: a big saving in fuzzy term expansion
EXACT_BOOST: Final = 10_000.0
"""A query equal to a product's SKU (with or without its punctuation) or to its whole name: that product first."""
# Each query word (or synonym phrase) naming the product's category at any level ("tv" for "TV & Video", "tablet"
# for "Tablets") multiplies its score, so a category's own products outrank others that merely mention the word
# (a tablet whose model number is "TV-C4976"). A factor, not an added score: it holds whatever the corpus makes
# of the word's idf in names vs category names. It never filters: the words must still match on their own.
CATEGORY_WEIGHT: Final = 1.5
# The same for a word naming the product's brand: "otterbox" ranks OtterBox's cases above a card reader whose
# name mentions OtterBox, "samsung galaxy s7" the Samsung phone above cases made for it.
BRAND_WEIGHT: Final = 2.0
# Availability breaks ties, it does not wall off: in stock multiplies the score by this much, so among comparably
# relevant hits the sellable one comes first, while a clearly better match that is out of stock still wins.
IN_STOCK_WEIGHT: Final = 1.1

# Field boosts: name > brand > attributes > category names > description. Each word is scored by BM25 on its
# best field, so its idf counts: a rare word (a color, a model number) outweighs a common one.
EXACT_FIELDS: Final = (f"{doc.NAME_EXACT}^8", f"{doc.NAME}^6", f"{doc.NAME_JOINED}^6", f"{doc.BRAND}^4",
                       f"{doc.ATTR_TEXT}^3", f"{doc.CATEGORY_NAMES}^2", f"{doc.DESCRIPTION}^1", f"{doc.SKU_TEXT}^6")
FUZZY_FIELDS: Final = (f"{doc.NAME}^6", f"{doc.BRAND}^4", f"{doc.CATEGORY_NAMES}^2", f"{doc.DESCRIPTION}^1")
AUTOCOMPLETE_FIELDS: Final = (doc.AUTOCOMPLETE, f"{doc.AUTOCOMPLETE}._2gram", f"{doc.AUTOCOMPLETE}._3gram")
# Under relaxation ("any word"), each query word a product matches adds this much before BM25, so products that
# match more of the query come first and BM25 orders those that match as many.
COVERAGE_BOOST: Final = 1_000.0

SOURCE_FIELDS: Final = [doc.ID, doc.SKU, doc.NAME, doc.BRAND, doc.PRICE, doc.CURRENCY, doc.CATEGORY_PATH, doc.IN_STOCK,
                        doc.AVAILABLE, doc.IMAGES, doc.GROUP_ID, doc.GROUP_CODE, doc.GROUP_NAME]
GROUPS_TOTAL: Final = "groups_total"
"""The aggregation a grouped search counts its models with (hits.total counts products)."""
SEARCH_FILTER_PATH: Final = ",".join((
    "took", "hits.total.value", "hits.hits._id", "hits.hits._score", "hits.hits._source",
    "hits.hits.highlight", "hits.hits.sort", "aggregations", "suggest.did_you_mean.options.text",
))

SORTS: Final[dict[str, list[Any]]] = {
    "relevance": [{"_score": "desc"}, {doc.ID: "asc"}],  # availability is in the score (IN_STOCK_WEIGHT)
    "price_asc": [{doc.PRICE: "asc"}, {doc.ID: "asc"}],
    "price_desc": [{doc.PRICE: "desc"}, {doc.ID: "asc"}],
    "newest": [{doc.CREATED_AT: "desc"}, {doc.ID: "desc"}],
    "name": [{doc.NAME_SORT: "asc"}, {doc.ID: "asc"}],
}
BROWSE_RELEVANCE: Final = [{doc.IN_STOCK: "desc"}, {doc.ID: "asc"}]
"""`relevance` without words: nothing to score, so in stock first by sort, and the query stays in filter context
(a function_score giving every product its in-stock weight was ~15% of a browse page at 1M)."""

@dataclass(frozen=True)
class Steering:
    """What merchandising rules (`search.rules`) do to one search's body."""

    rule_ids: tuple[int, ...] = ()
    scope: tuple[Body, ...] = ()
    """Filters of the rules: in the query itself (hits and facets)."""
    hidden: tuple[str, ...] = ()
    """Lowercase SKUs never shown."""
    boosts: tuple[tuple[Body, float], ...] = ()
    """(filter, weight): under relevance, the score of the products the filter matches is multiplied by it."""
    pins: tuple[tuple[str, int, int], ...] = ()
    """(lowercase SKU, 1-based position, rule id), in the order they claim positions (placed by the service)."""
    excluded_keys: tuple[str, ...] = ()
    """Group keys of the pinned products shown: kept out of the ranked hits (they are placed, not ranked)."""
    window: tuple[int, int] | None = None
    """(from, size) of the ranked hits when pins take some places of the page."""
    facet_attributes: tuple[str, ...] = ()
    """Attributes the rules filter on: among the facets whatever the category, as the shopper's filtered ones."""


NO_STEERING: Final = Steering()


@dataclass(frozen=True)
class Matching:
    """How the words must match. The first pass is exact (no fuzzy expansion, the cheapest); only when it comes back
    short do later passes tolerate typos, then leave words out or let most or any of them do."""

    typos: bool = False
    dropped: tuple[str, ...] = ()
    """Word groups left out (no product has them)."""
    any_word: bool = False
    min_match: int | str = 1
    """Under `any_word`, how many of the word groups a product must match (an OpenSearch minimum_should_match)."""

    @property
    def relaxed(self) -> bool:
        return bool(self.dropped) or self.any_word


EXACT: Final = Matching()
TYPO_TOLERANT: Final = Matching(typos=True)
WIDENED: Final = Matching(typos=True, any_word=True, min_match="-34%")
"""A short answer widened: products matching about two thirds of the words (all but 1 of 3-5, all but 2 of 6-8),
the rest of the line or the other colors of what was named, not whatever shares a word."""
WIDENED_EXACT: Final = Matching(any_word=True, min_match="-34%")
"""WIDENED when the exact words did find products (so they are spelled as the catalog spells them): no fuzzy
expansion, which was most of a widened search's query time."""
RELAX_BELOW: Final = 10
"""A first answer with fewer products than this (a page) gets a second pass (typos, spelling, relaxation)."""
WIDEN_FROM_GROUPS: Final = 3
"""...if it found nothing, or if the query has this many word groups (fewer: WIDENED would still require all)."""


# --- matching ------------------------------------------------------------------------------------------

def _word_match(text: str, fuzzy: bool) -> dict[str, Any]:
    """One word (or synonym phrase) anywhere in the product: text fields, attribute values, SKU."""
    exact: Body = {"multi_match": {"query": text, "fields": list(EXACT_FIELDS), "operator": "and", "boost": 2.0}}
    if not fuzzy:
        return exact
    typo: Body = {"multi_match": {"query": text, "fields": list(FUZZY_FIELDS), "operator": "and",
                                  "fuzziness": FUZZINESS, "prefix_length": PREFIX_LENGTH, "max_expansions": 20,
                                  "boost": 0.5}}
    return {"dis_max": {"queries": [exact, typo]}}


def _group_clause(text: str, alternatives: Sequence[str], last: bool, typos: bool) -> Body:
    """A word group matches through itself (fuzzy if `typos`), any synonym (exact) or, for the last one, as a
    prefix."""
    options = [_word_match(text, fuzzy=typos)]
    options += [_word_match(alt, fuzzy=False) for alt in alternatives]
    if last and " " not in text and len(text) >= 2:
        options.append({"prefix": {doc.AUTOCOMPLETE: {"value": text, "boost": 0.8}}})
    return options[0] if len(options) == 1 else {"bool": {"should": options, "minimum_should_match": 1}}


def group_clauses(groups: Sequence[tuple[str, Sequence[str]]], typos: bool) -> list[tuple[str, Body]]:
    """Each word group with the clause a product must match to match that group."""
    return [(g, _group_clause(g, alts, last=i == len(groups) - 1, typos=typos)) for i, (g, alts) in enumerate(groups)]


def _any_of(options: Sequence[Body]) -> Body:
    return options[0] if len(options) == 1 else {"bool": {"should": list(options), "minimum_should_match": 1}}


def boost_functions(boosts: Sequence[tuple[Body, float]]) -> list[Body]:
    """Merchandising boosts as function_score functions (multiplied in)."""
    return [{"filter": clause, "weight": weight} for clause, weight in boosts]


def ranking_weights(groups: Sequence[tuple[str, Sequence[str]]]) -> list[Body]:
    """function_score functions: a factor per word group naming the product's category or its brand, and one for
    being in stock."""
    functions: list[Body] = []
    for text, alternatives in groups:
        words = (text, *alternatives)
        in_category = _any_of([{"match": {doc.CATEGORY_NAMES: {"query": t, "operator": "and"}}} for t in words])
        functions.append({"filter": in_category, "weight": CATEGORY_WEIGHT})
        of_brand = _any_of([{"match": {doc.BRAND: {"query": t, "operator": "and"}}} for t in words])
        functions.append({"filter": of_brand, "weight": BRAND_WEIGHT})
    functions.append({"filter": {"term": {doc.IN_STOCK: True}}, "weight": IN_STOCK_WEIGHT})
    return functions


def _required(clauses: Sequence[tuple[str, Body]], matching: Matching) -> Body:
    """Every word group required; relaxed, the dropped ones left out, or `min_match` of them enough (products
    matching more groups first)."""
    kept = [clause for text, clause in clauses if text not in matching.dropped]
    if not matching.any_word:
        return {"bool": {"must": kept}}
    coverage = [{"constant_score": {"filter": clause, "boost": COVERAGE_BOOST}} for clause in kept]
    return {"bool": {"must": [{"bool": {"should": kept, "minimum_should_match": matching.min_match}}],
                     "should": coverage}}


def text_query(q: str, expansions: Expansions | None = None, matching: Matching = TYPO_TOLERANT,
               boosts: Sequence[tuple[Body, float]] = ()) -> Body:
    """Every word must match somewhere (typo tolerant unless `matching` is EXACT); the exact phrase, words close
    together and prefixes score higher, and so do products whose category or brand the words name, and products
    in stock.

    A query equal to a SKU (punctuation or not) or to a product's whole name ranks that product first.
    """
    words = tokenize(q)
    if not words:
        return {"match_all": {}}
    text = " ".join(words)
    groups = group_terms(words, expansions or {})
    required = _required(group_clauses(groups, matching.typos), matching)
    closeness: list[Body] = [{"multi_match": {"query": text, "type": "bool_prefix", "fields": list(AUTOCOMPLETE_FIELDS),
                                              "operator": "and", "boost": 2.0}}]
    if len(words) > 1:  # a one-word "phrase" is that word again, which would favour names that merely mention it
        closeness += [{"match_phrase": {doc.NAME_EXACT: {"query": text, "boost": 10.0}}},
                      {"match_phrase": {doc.NAME: {"query": text, "slop": 3, "boost": 3.0}}}]
    required["bool"]["should"] = [*required["bool"].get("should", []), *closeness]
    ranked = {"function_score": {"query": required, "functions": [*ranking_weights(groups), *boost_functions(boosts)],
                                 "score_mode": "multiply", "boost_mode": "multiply"}}
    typed = " ".join(q.split())
    exact = [{"term": {field: {"value": typed}}} for field in (doc.SKU, doc.SKU_COMPACT, doc.NAME_WORDS)]
    return {"bool": {"should": [{"constant_score": {"filter": _any_of(exact), "boost": EXACT_BOOST}}, ranked],
                     "minimum_should_match": 1}}


PROBE_FILTER_PATH: Final = "hits.total.value,suggest.did_you_mean.options.text,aggregations"
TOLERANT: Final = "tolerant"
WIDE: Final = "widened"
SCOPE: Final = "scope"
WORD: Final = "word:"


def _under_filters(params: SearchParams) -> list[Body]:
    """Sellable products under every filter the shopper set (and those set for them), whatever the words."""
    return [active_only(), *confined_clauses(params), *filter_clauses(params).values()]


def groups_total(post_filter: Body | None) -> Body:
    """The aggregation that counts the models (groups, and products of their own) a search finds."""
    return {"filter": post_filter or {"match_all": {}}, "aggs": facets.group_count()}


def probe_bodies(params: SearchParams, expansions: Expansions | None, widen: Matching | None,
                 dead_end: bool, grouped: bool = False) -> dict[str, Body]:
    """After a short first answer, counts without hits, facets or scores (sent together in one `_msearch`):

    - TOLERANT: how many products the words match with typos tolerated (after a `dead_end`, with a better
      spelling from the phrase suggester);
    - WIDE: how many the `widen` reading would;
    - after a `dead_end`, SCOPE: whether the shopper's filters leave any product at all, and `WORD + group`:
      whether any product under them has that word group (relaxation leaves out the groups none has).

    Each is its own query, so its cost follows what it matches; the yes/no ones stop at the first product.
    (As `global` aggregations in one request they visited every document of the index: ~65 ms at 1M.)
    `grouped`: the counts count models, as the grouped search they are compared with does.
    """
    filters = _under_filters(params)
    groups = word_groups(params.q, expansions)
    clauses = group_clauses(groups, typos=True)

    def count(*required: Body, exists: bool = False) -> Body:
        body: Body = {"size": 0, "track_total_hits": True, "query": {"bool": {"filter": [*filters, *required]}}}
        if exists:
            return body | {"terminate_after": 1}
        return body | {"aggs": {GROUPS_TOTAL: groups_total(None)}} if grouped else body

    bodies = {TOLERANT: count(_required(clauses, TYPO_TOLERANT))}
    if widen is not None:
        bodies[WIDE] = count(_required(clauses if widen.typos else group_clauses(groups, typos=False), widen))
    if dead_end:
        bodies[TOLERANT]["suggest"] = did_you_mean(params.q)
        bodies[SCOPE] = count(exists=True)
        bodies |= {f"{WORD}{text}": count(clause, exists=True) for text, clause in clauses}
    return bodies


# --- the search body -----------------------------------------------------------------------------------

def highlight(q: str, also: str | None = None) -> Body:
    """The matched words in name, brand and description, found with a plain multi_match over just those fields
    (not the whole ranking query, whose fuzzy and phrase clauses the highlighter would otherwise rerun per hit);
    the fields index offsets, so no text is re-analysed.

    Never fuzzy: a fuzzy highlight query intersects an edit-distance automaton with each field's term dictionary
    for every hit, which was half the cost of a typo-tolerant search (profiled: 18.5 -> 10 ms). A typo-tolerant
    pass highlights the words as typed and `also` the spelling the suggester proposed ("samsnug" -> "samsung").
    """
    words: Body = {"query": normalize_query(f"{q} {also}" if also else q),
                   "fields": [doc.NAME, doc.BRAND, doc.DESCRIPTION]}
    return {
        "encoder": "html",
        "pre_tags": ["<em>"],
        "post_tags": ["</em>"],
        "require_field_match": False,
        "highlight_query": {"multi_match": words},
        "fields": {
            doc.NAME: {"number_of_fragments": 0},
            doc.BRAND: {"number_of_fragments": 0},
            doc.DESCRIPTION: {"fragment_size": 160, "number_of_fragments": 1},
        },
    }


def did_you_mean(q: str) -> Body:
    return {"text": normalize_query(q), "did_you_mean": {"phrase": {
        "field": doc.SPELL, "size": 1, "gram_size": 3, "max_errors": 2, "confidence": 1.0,
        "direct_generator": [{"field": doc.SPELL, "suggest_mode": "always", "min_word_length": 3}],
    }}}


def search_body(params: SearchParams, facet_keys: Sequence[str], expansions: Expansions | None = None,
                matching: Matching = TYPO_TOLERANT, with_suggest: bool = False,
                highlight_also: str | None = None, grouped: bool = False, steering: Steering = NO_STEERING) -> Body:
    """The whole storefront request: hits, disjunctive facets and (`with_suggest`) did-you-mean in one round trip;
    `highlight_also`: more words to highlight (see `highlight`).

    The category filter sits in the query, not in `post_filter`: the category facet lists only the chosen
    category's children anyway, so no facet needs the products outside it, and every aggregation then scans only
    the chosen category. The other filters stay in `post_filter` (each facet counts under all but its own).

    `grouped`: one hit per model, its best variant under the sort (`collapse` on the group key), with the total
    counting models (`facets.group_count`) and whether the facets need a model correction
    (`facets.model_counts_body`, sent after this one). Each variant is its own document, so filters on
    several attributes hold within one variant. Collapsed results page by offset (OpenSearch 2 refuses
    `collapse` with `search_after`).

    `steering`: what merchandising rules add (their filters in the query, hidden SKUs left out of everything,
    boosts in the relevance score, the pinned products kept out of the ranked hits and the page `window` the
    ranked hits fill).
    """
    filters = filter_clauses(params)
    scope = [active_only(), *confined_clauses(params), *steering.scope]
    if "category" in filters:
        scope.append(filters.pop("category"))
    words = tokenize(params.q)
    found: Body = {"bool": {"filter": scope}}
    if steering.hidden:
        found["bool"]["must_not"] = [{"terms": {doc.SKU: list(steering.hidden)}}]
    sort = SORTS[params.sort] if words or params.sort != "relevance" else BROWSE_RELEVANCE
    if words:
        found["bool"]["must"] = [text_query(params.q, expansions, matching, steering.boosts)]
    elif steering.boosts and params.sort == "relevance":  # browsing, boosted: the boosts are the only score
        found = {"function_score": {"query": found, "functions": boost_functions(steering.boosts),
                                    "score_mode": "multiply", "boost_mode": "replace"}}
        sort = [{"_score": "desc"}, *BROWSE_RELEVANCE]
    start, size = steering.window or (params.offset, params.per_page)
    body: Body = {
        "query": found,
        "sort": sort,
        "size": size,
        "_source": SOURCE_FIELDS,
        "track_total_hits": True,
        "aggs": facets.aggregations(params, filters, facet_keys),
    }
    post_filter = combine(list(filters.values()))
    if steering.excluded_keys:
        kept_out: Body = {"bool": {"must_not": [{"terms": {doc.GROUP_KEY: list(steering.excluded_keys)}}]}}
        post_filter = kept_out if post_filter is None else {"bool": {"filter": [post_filter, kept_out]}}
    if post_filter is not None:
        body["post_filter"] = post_filter
    if grouped:
        body["collapse"] = {"field": doc.GROUP_KEY}
        body["aggs"][GROUPS_TOTAL] = groups_total(post_filter)
        body["aggs"][facets.SCOPE_VARIANTS] = facets.scope_variants()
    if params.search_after is not None and not grouped:
        body["search_after"] = list(params.search_after)
    elif start:
        body["from"] = start
    if params.sort == "relevance" and words:
        body["track_scores"] = True
    if words:
        body["highlight"] = highlight(params.q, highlight_also)
        if with_suggest:
            body["suggest"] = did_you_mean(params.q)
    return body
