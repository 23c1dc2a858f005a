"""Merchandising rules: pin, hide, boost and filter the results of the searches a rule's `when` names.

A rule fires for a search when its query matches the shopper's after the same analysis the index applies to
names (lowercase, accents folded, English stemming: "iPhone Cases" matches a rule for "iphone case"), with the
synonyms applied (a rule for "television" fires for "tv" when they are synonyms), and when the shopper is in its
category (or below). A rule with neither fires for every search. Rules are read from PostgreSQL into each process
and reloaded when the search-settings generation moves (bumped on every rule or synonym change), so a change
applies at once, without a reindex, and no cached answer outlives it.

Precedence, for the rules in force at that moment (oldest rule first):
1. filters: every firing rule's `filter` narrows the search (hits and facets);
2. hides: a hidden SKU is never shown, not even when another rule pins it;
3. boosts: under relevance, each boost's weight multiplies the score of the products its filter matches;
4. pins: placed last, at their positions, over whatever the ranking is; a pin that is not sellable right now
   (not active, out of stock, outside the shopper's filters) is skipped. Two pins for one position: the older
   rule's keeps it, the other takes the next free one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
from msgspec import UNSET
from opensearchpy import AsyncOpenSearch
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog import index_contract
from catalog.errors import InvalidInput, NotFound, ServiceUnavailable
from search import filtering, query
from search.facets import ATTR_PREFIX
from search.query import NO_STEERING, Steering
from search.rule_schemas import ATTRIBUTE_NAME, RULE_FIELDS, Boost, Pin, RuleCreate, RuleRead, RuleUpdate, When
from search.words import normalize_query, word_groups

FALLBACK_TTL: Final = 5.0
MAX_AGE: Final = 300.0
MAX_ANALYZED: Final = 10_000
ANALYZER: Final = "product_text"
# --- the rules a process applies --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    terms: tuple[str, ...] | None
    """The analysed query (None: any query)."""
    match: str
    category: str | None
    pins: tuple[tuple[str, int], ...]
    hidden: tuple[str, ...]
    boosts: tuple[tuple[query.Body, float], ...]
    scope: tuple[query.Body, ...]
    filtered_attributes: tuple[str, ...]
    """The attributes its filter names (`attr.<name>`): shown as facets, as a shopper's own filtered ones are."""
    starts_at: datetime | None
    ends_at: datetime | None

    def in_force(self, now: datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= now) and (self.ends_at is None or now < self.ends_at)

    def fires(self, category: str | None, candidates: Sequence[tuple[str, ...]]) -> bool:
        if self.category is not None and not (category == self.category or
                                              (category or "").startswith(self.category + "/")):
            return False
        if self.terms is None:
            return True
        if self.match == "exact":
            return any(terms == self.terms for terms in candidates)
        size = len(self.terms)
        return any(terms[i:i + size] == self.terms for terms in candidates for i in range(len(terms) - size + 1))


def filter_clauses(rule_filter: Mapping[str, Any]) -> list[query.Body]:
    """A rule's (or boost's) filter as query clauses (validated when the rule was written)."""
    clauses = []
    for name, value in sorted(rule_filter.items()):
        if name == "in_stock":
            clauses.append(filtering.in_stock_filter(bool(value)))
        elif (clause := filtering.facet_filter(name, value if isinstance(value, list) else [str(value)])) is not None:
            clauses.append(clause)
    return clauses


def _combined(clauses: Sequence[query.Body]) -> query.Body:
    return clauses[0] if len(clauses) == 1 else {"bool": {"filter": list(clauses)}}


def to_rule(row: Row[Any]) -> Rule:
    when = row.when_
    return Rule(
        id=int(row.id), name=row.name, terms=tuple(row.query_terms) if row.query_terms else None, match=when["match"],
        category=when.get("category"), pins=tuple((p["sku"].lower(), int(p["position"])) for p in row.pin),
        hidden=tuple(sku.lower() for sku in row.hide),
        boosts=tuple((_combined(filter_clauses(b["filter"])), float(b["weight"])) for b in row.boost),
        scope=tuple(filter_clauses(row.filter)),
        filtered_attributes=tuple(name.removeprefix(ATTR_PREFIX) for name in row.filter
                                  if name.startswith(ATTR_PREFIX)),
        starts_at=row.starts_at, ends_at=row.ends_at,
    )


def steering(fired: Sequence[Rule]) -> Steering:
    """What the firing rules do to the search (see the module's precedence)."""
    if not fired:
        return NO_STEERING
    hidden = tuple(dict.fromkeys(sku for rule in fired for sku in rule.hidden))
    pins = tuple((sku, position, rule.id) for rule in fired for sku, position in rule.pins if sku not in hidden)
    return Steering(rule_ids=tuple(rule.id for rule in fired), scope=tuple(c for r in fired for c in r.scope),
                    hidden=hidden, boosts=tuple(b for r in fired for b in r.boosts), pins=pins,
                    facet_attributes=tuple(dict.fromkeys(a for r in fired for a in r.filtered_attributes)))


class RuleBook:
    """The enabled rules, in-process, reloaded when the search-settings generation moves; analysed queries are
    remembered (shoppers repeat queries)."""

    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._generation: str | None = None
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()
        self._analyzed: dict[str, tuple[str, ...]] = {}

    def _is_current(self, generation: str | None) -> bool:
        age = time.monotonic() - self._loaded_at
        return age < FALLBACK_TTL if generation is None else generation == self._generation and age < MAX_AGE

    async def rules(self, sessions: async_sessionmaker[AsyncSession], generation: str | None) -> list[Rule]:
        if self._is_current(generation):
            return self._rules
        async with self._lock:
            if not self._is_current(generation):
                async with sessions() as session:
                    rows = (await session.execute(_ENABLED)).all()
                self._rules = [to_rule(row) for row in rows]
                self._generation = generation
                self._loaded_at = time.monotonic()
        return self._rules

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def analyzed(self, client: AsyncOpenSearch, text_: str) -> tuple[str, ...]:
        found = self._analyzed.get(text_)
        if found is None:
            found = await analyze(client, text_)
            if len(self._analyzed) >= MAX_ANALYZED:
                self._analyzed.clear()
            self._analyzed[text_] = found
        return found

    async def firing(self, client: AsyncOpenSearch, rules: Sequence[Rule], q: str,
                     category: str | None, expansions: Mapping[str, Sequence[str]]) -> list[Rule]:
        """The rules in force now that fire for this query and category, oldest first."""
        now = datetime.now(UTC)
        live = [rule for rule in rules if rule.in_force(now)]
        if not live:
            return []
        candidates: list[tuple[str, ...]] = []
        if any(rule.terms is not None for rule in live) and normalize_query(q):
            candidates = [await self.analyzed(client, phrasing) for phrasing in phrasings(q, expansions)]
        return [rule for rule in live if rule.fires(category, candidates)]


MAX_PHRASINGS: Final = 8


def phrasings(q: str, expansions: Mapping[str, Sequence[str]]) -> list[str]:
    """The query as typed, and with each synonym put in place of its word group (one at a time)."""
    groups = word_groups(q, expansions)
    found = [" ".join(text_ for text_, _ in groups)]
    for i, (_, alternatives) in enumerate(groups):
        for alternative in alternatives:
            found.append(" ".join(alternative if j == i else t for j, (t, _) in enumerate(groups)))
    return list(dict.fromkeys(found))[:MAX_PHRASINGS]


def _inline_analyzer() -> dict[str, Any]:
    """The index's `product_text` analyzer spelled out (from `catalog.index_contract`), so analysing needs no index."""
    analysis = index_contract.index_analysis()
    spec = analysis["analyzer"][ANALYZER]
    return {"tokenizer": spec["tokenizer"], "filter": [analysis["filter"].get(name, name) for name in spec["filter"]]}


INLINE_ANALYZER: Final = _inline_analyzer()


async def analyze(client: AsyncOpenSearch, text_: str) -> tuple[str, ...]:
    """The words of `text_` as the index analyses product names (the `product_text` analyzer, sent inline: rules
    can be written before the first index exists)."""
    try:
        found = await client.indices.analyze(body={**INLINE_ANALYZER, "text": text_})
    except Exception as exc:  # the index's analysis is the only correct one: without it, say so
        raise ServiceUnavailable("Search is temporarily unavailable; retry shortly.", code="SEARCH_UNAVAILABLE",
                                 headers={"Retry-After": "2"}) from exc
    return tuple(token["token"] for token in found.get("tokens", []))


_SELECT = """SELECT id, name, jsonb_build_object('query', query, 'match', match, 'category', category) AS when_,
       query_terms, pin, hide, boost, filter, starts_at, ends_at, enabled, created_at, updated_at, version
FROM search_rules"""
_ENABLED = text(_SELECT + " WHERE enabled AND (ends_at IS NULL OR ends_at > now()) ORDER BY id")


# --- management -----------------------------------------------------------------------------------------------

def _read(row: Row[Any]) -> RuleRead:
    when = {k: v for k, v in row.when_.items() if v is not None}
    now = datetime.now(UTC)
    in_force = row.enabled and (row.starts_at is None or row.starts_at <= now) and (
        row.ends_at is None or now < row.ends_at)
    return RuleRead(
        id=row.id, name=row.name, when=msgspec.convert(when, When), pin=msgspec.convert(row.pin, list[Pin]),
        hide=list(row.hide), boost=msgspec.convert(row.boost, list[Boost]), filter=dict(row.filter),
        starts_at=row.starts_at, ends_at=row.ends_at, enabled=row.enabled, in_force=bool(in_force),
        created_at=row.created_at, updated_at=row.updated_at, version=row.version,
    )


def rule_not_found(rule_id: int) -> NotFound:
    return NotFound(f"Search rule {rule_id} does not exist.", {"id": rule_id}, code="SEARCH_RULE_NOT_FOUND")


def _check_filter(rule_filter: Mapping[str, Any], field: str, categories: set[str]) -> None:
    for name, value in rule_filter.items():
        where = f"{field}.{name}"
        if name == "in_stock":
            if not isinstance(value, bool):
                raise InvalidInput("`in_stock` takes true or false.", {"fields": {where: "true or false"}})
            continue
        if name not in ("brand", "category") and not (name.startswith("attr.") and
                                                      ATTRIBUTE_NAME.fullmatch(name[5:])):
            raise InvalidInput(f"Unknown filter {name!r}: use brand, category, attr.<name> or in_stock.",
                               {"fields": {where: "unknown filter"}})
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v for v in values):
            raise InvalidInput(f"Filter {name!r} takes a value or a list of values.", {"fields": {where: "a value"}})
        unknown = [v for v in values if name == "category" and v.strip("/") not in categories]
        if unknown:
            raise InvalidInput(f"No category has the path {unknown[0]!r}.", {"fields": {where: unknown}},
                               code="CATEGORY_NOT_FOUND")


async def _validate(session: AsyncSession, rule: dict[str, Any]) -> None:
    """Everything a rule names exists and makes sense; InvalidInput naming what does not."""
    if rule["starts_at"] and rule["ends_at"] and rule["ends_at"] <= rule["starts_at"]:
        raise InvalidInput("`ends_at` must be after `starts_at`.", {"fields": {"ends_at": "before starts_at"}})
    if not (rule["pin"] or rule["hide"] or rule["boost"] or rule["filter"]):
        raise InvalidInput("A rule needs at least one of pin, hide, boost or filter.", {"fields": {
            "pin": "empty", "hide": "empty", "boost": "empty", "filter": "empty"}})
    when: When = rule["when"]
    if when.query is not None and not normalize_query(when.query):
        raise InvalidInput("The rule's query needs a letter or digit.", {"fields": {"when.query": "no words"}})
    categories = {row[0] for row in (await session.execute(text("SELECT path FROM categories"))).all()}
    if when.category is not None and when.category.strip("/") not in categories:
        raise InvalidInput(f"No category has the path {when.category!r}.", {"fields": {"when.category": when.category}},
                           code="CATEGORY_NOT_FOUND")
    _check_filter(rule["filter"], "filter", categories)
    for n, boost in enumerate(rule["boost"]):
        if not boost.filter:
            raise InvalidInput("A boost needs a filter.", {"fields": {f"boost.{n}.filter": "empty"}})
        _check_filter(boost.filter, f"boost.{n}.filter", categories)
    named = {pin.sku.lower(): pin.sku for pin in rule["pin"]} | {sku.lower(): sku for sku in rule["hide"]}
    if named:
        known = {row[0] for row in (await session.execute(
            text("SELECT lower(sku) FROM products WHERE lower(sku) = ANY(:skus)"), {"skus": list(named)})).all()}
        unknown = sorted(sku for key, sku in named.items() if key not in known)
        if unknown:
            raise InvalidInput(f"No product has SKU {', '.join(unknown)}.", {"fields": {"skus": unknown}},
                               code="UNKNOWN_SKUS")


async def _row_values(client: AsyncOpenSearch, rule: dict[str, Any]) -> dict[str, Any]:
    when: When = rule["when"]
    terms = list(await analyze(client, normalize_query(when.query))) if when.query else None
    return {
        "name": rule["name"], "query": when.query, "query_terms": terms, "match": when.match,
        "category": when.category.strip("/") if when.category else None,
        "pin": msgspec.json.encode(rule["pin"]).decode(), "hide": list(rule["hide"]),
        "boost": msgspec.json.encode(rule["boost"]).decode(), "filter": msgspec.json.encode(rule["filter"]).decode(),
        "starts_at": rule["starts_at"], "ends_at": rule["ends_at"], "enabled": rule["enabled"],
    }


_WRITE_COLUMNS = ("name", "query", "query_terms", "match", "category", "pin", "hide", "boost", "filter",
                  "starts_at", "ends_at", "enabled")
_JSON_COLUMNS = frozenset({"pin", "boost", "filter"})


def _value(column: str) -> str:
    return f"CAST(:{column} AS jsonb)" if column in _JSON_COLUMNS else f":{column}"


async def list_rules(session: AsyncSession) -> list[RuleRead]:
    return [_read(row) for row in (await session.execute(text(_SELECT + " ORDER BY id"))).all()]


async def get_rule(session: AsyncSession, rule_id: int) -> RuleRead:
    row = (await session.execute(text(_SELECT + " WHERE id = :id"), {"id": rule_id})).first()
    if row is None:
        raise rule_not_found(rule_id)
    return _read(row)


async def create_rule(session: AsyncSession, client: AsyncOpenSearch, data: RuleCreate,
                      actor: uuid.UUID | None) -> RuleRead:
    rule = {name: getattr(data, name) for name in RULE_FIELDS}
    await _validate(session, rule)
    values = await _row_values(client, rule) | {"created_by": actor}
    columns = (*_WRITE_COLUMNS, "created_by")
    placeholders = ", ".join(_value(c) for c in columns)
    new_id = (await session.execute(text(
        f"INSERT INTO search_rules ({', '.join(columns)}) VALUES ({placeholders}) RETURNING id"), values)).scalar_one()
    return await get_rule(session, int(new_id))


async def update_rule(session: AsyncSession, client: AsyncOpenSearch, rule_id: int, data: RuleUpdate
                      ) -> RuleRead:
    current = (await session.execute(text(_SELECT + " WHERE id = :id FOR UPDATE"), {"id": rule_id})).first()
    if current is None:
        raise rule_not_found(rule_id)
    read = _read(current)
    rule = {name: getattr(read, name) for name in RULE_FIELDS}
    rule |= {name: value for name in RULE_FIELDS if (value := getattr(data, name)) is not UNSET}
    await _validate(session, rule)
    values = await _row_values(client, rule)
    assignments = ", ".join(f"{c} = {_value(c)}" for c in _WRITE_COLUMNS)
    await session.execute(text(f"UPDATE search_rules SET {assignments} WHERE id = :id"), values | {"id": rule_id})
    return await get_rule(session, rule_id)


async def delete_rule(session: AsyncSession, rule_id: int) -> None:
    deleted = (await session.execute(text("DELETE FROM search_rules WHERE id = :id RETURNING id"),
                                     {"id": rule_id})).first()
    if deleted is None:
        raise rule_not_found(rule_id)
