"""The passes of one search after the first: `Bodies` builds every pass's body (they share facets, synonyms,
grouping and the rules' steering), and when the exact words found fewer than a page, `second_pass` probes what each
looser reading would find (typos, a better spelling, widening, relaxation) and runs the best of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from opensearchpy import AsyncOpenSearch

from search import backend, query
from search.schemas import SearchParams
from search.words import normalize_query, word_groups


def _suggestion(raw: dict[str, Any], q: str) -> str | None:
    entries = raw.get("suggest", {}).get("did_you_mean", [])
    options = entries[0].get("options", []) if entries else []
    text_ = options[0]["text"] if options else None
    return text_ if text_ and text_ != normalize_query(q) else None


@dataclass(frozen=True)
class Bodies:
    """Builds the search bodies of one request (every pass shares its facets, synonyms and grouping)."""

    params: SearchParams
    keys: Sequence[str]
    expansions: Mapping[str, tuple[str, ...]]
    grouped: bool
    steer: query.Steering = query.NO_STEERING

    def build(self, matching: query.Matching, params: SearchParams | None = None,
              highlight_also: str | None = None) -> dict[str, Any]:
        return query.search_body(params or self.params, self.keys, self.expansions, matching,
                                 highlight_also=highlight_also, grouped=self.grouped, steering=self.steer)


@dataclass
class SecondPass:
    """What a short first answer was replaced with (`raw` None: keep it), and the spelling suggested."""

    suggestion: str | None
    raw: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    params: SearchParams | None = None
    matching: query.Matching = query.EXACT
    corrected: bool = False


async def second_pass(client: AsyncOpenSearch, alias: str, bodies: Bodies, found: int,
                      widen: bool = True) -> SecondPass:
    """The exact words found fewer than RELAX_BELOW products. One light probe (no hits, no facets) counts what
    each looser reading would find (and, after a dead end, asks for a better spelling), then at most one full
    search runs, for the best of them (two when a dead end's words never meet; `widen` False: the widened
    reading already ran beside the first pass and found no more):

    - some found, exactly or with typos: the widened reading (about two thirds of the words; typos tolerated
      when the exact words found none) when it finds more, so the products matching every word come first and
      then the rest of their line or their other colors; else typo tolerance;
    - none found: typo tolerance; else the did-you-mean spelling; else the words no product has are left out and,
      if the rest still never meet, any word may match (products matching more words first).
    """
    params, expansions = bodies.params, bodies.expansions
    words = [word for word, _ in word_groups(params.q, expansions)]  # in the shopper's order
    multi_word = len(words) > 1
    widening = query.WIDENED_EXACT if found else query.WIDENED
    counted = widening if multi_word and (widen or not found) else None
    probes = query.probe_bodies(params, expansions, counted, dead_end=not found, grouped=bodies.grouped)
    probe = dict(zip(probes, await backend.search_many(client, alias, list(probes.values()), query.PROBE_FILTER_PATH),
                     strict=True))
    suggestion = _suggestion(probe[query.TOLERANT], params.q)
    tolerant, widened = backend.total(probe[query.TOLERANT]), backend.total(probe.get(query.WIDE, {}))
    attempts: list[tuple[SearchParams, query.Matching]] = []
    if widened > max(found, tolerant) and (found or tolerant):  # widening a dead end is the relaxation below
        attempts.append((params, widening))
    elif tolerant > found:
        attempts.append((params, query.TYPO_TOLERANT))
    elif not found and backend.total(probe[query.SCOPE]):  # else the filters leave no product for any words
        if suggestion:
            attempts.append((msgspec.structs.replace(params, q=suggestion, search_after=None, page=1),
                             query.TYPO_TOLERANT))
        if multi_word:
            absent = tuple(dict.fromkeys(w for w in words if not backend.total(probe[f"{query.WORD}{w}"])))
            if len(absent) < len(set(words)):  # some word matches something: relaxing can find it
                if absent:
                    attempts.append((params, query.Matching(typos=True, dropped=absent)))
                attempts.append((params, query.Matching(typos=True, dropped=absent, any_word=True)))
    for tried, matching in attempts:
        also = suggestion if matching.typos and tried is params else None  # highlight the corrected spelling too
        body = bodies.build(matching, tried, highlight_also=also)
        raw = await backend.search(client, alias, body, query.SEARCH_FILTER_PATH)
        if backend.total(raw) > found:
            return SecondPass(suggestion, raw, body, tried, matching, corrected=tried is not params)
    return SecondPass(suggestion)
