"""Query-time synonyms from the `synonyms` table: managed through the API, applied without a reindex.

`tv, television` (no replacements) are equivalents; `laptop => notebook` is one-way: a query for laptop
also finds notebooks, not the reverse. The expansion map is cached in-process and reloaded when the Redis
generation key changes (bumped on every create/delete), or after a short TTL when Redis is unavailable.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Final

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.errors import InvalidInput, NotFound
from search.schemas import SynonymCreate, SynonymRead
from search.words import normalize_query

log = logging.getLogger(__name__)

Expansions = dict[str, tuple[str, ...]]
FALLBACK_TTL: Final = 5.0  # seconds a map is trusted when the generation cannot be read
MAX_AGE: Final = 300.0


def generation_key(alias: str) -> str:
    """Redis counter bumped on every synonym change; part of the response-cache key."""
    return f"catalog:synonyms_generation:{alias}"


def build_expansions(rules: Iterable[tuple[list[str], list[str]]]) -> Expansions:
    """The lookup the query builder uses: normalized term -> everything a query for it also matches."""
    found: dict[str, dict[str, None]] = {}
    for terms, replacements in rules:
        normalized = [t for t in (normalize_query(term) for term in terms) if t]
        targets = [t for t in (normalize_query(r) for r in replacements) if t]
        for term in normalized:
            others = targets if targets else [t for t in normalized if t != term]
            found.setdefault(term, {}).update(dict.fromkeys(o for o in others if o != term))
    return {term: tuple(others) for term, others in found.items() if others}


class SynonymStore:
    """The in-process expansion map, reloaded from PostgreSQL when its generation moves."""

    def __init__(self) -> None:
        self._expansions: Expansions = {}
        self._generation: str | None = None
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    def _is_current(self, generation: str | None) -> bool:
        age = time.monotonic() - self._loaded_at
        if generation is None:
            return age < FALLBACK_TTL
        return generation == self._generation and age < MAX_AGE

    async def expansions(self, sessions: async_sessionmaker[AsyncSession], generation: str | None
                         ) -> Mapping[str, tuple[str, ...]]:
        if self._is_current(generation):
            return self._expansions
        async with self._lock:
            if not self._is_current(generation):
                async with sessions() as session:
                    rows = (await session.execute(text("SELECT terms, replacements FROM synonyms"))).all()
                self._expansions = build_expansions((list(r[0]), list(r[1])) for r in rows)
                self._generation = generation
                self._loaded_at = time.monotonic()
        return self._expansions

    @property
    def generation(self) -> str | None:
        """The settings generation the map was loaded under (None before the first load)."""
        return self._generation

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")


# --- management ------------------------------------------------------------------------------------------

_COLUMNS = "id, terms, replacements, created_at"


def _read(row: Row[Any]) -> SynonymRead:
    return SynonymRead(id=row.id, terms=list(row.terms), replacements=list(row.replacements),
                       created_at=row.created_at)


def _normalized(values: list[str], field: str) -> list[str]:
    cleaned = [normalize_query(v) for v in values]
    if not all(cleaned):
        raise InvalidInput("Every synonym term needs at least one letter or digit.",
                           {"fields": {field: "a term without letters or digits"}})
    return list(dict.fromkeys(cleaned))


def validate(data: SynonymCreate) -> tuple[list[str], list[str]]:
    terms = _normalized(data.terms, "terms")
    replacements = _normalized(data.replacements, "replacements")
    if not replacements and len(terms) < 2:
        raise InvalidInput("Equivalent synonyms need at least two different terms (or give `replacements`).",
                           {"fields": {"terms": "at least two different terms"}})
    return terms, replacements


async def list_synonyms(session: AsyncSession) -> list[SynonymRead]:
    rows = (await session.execute(text(f"SELECT {_COLUMNS} FROM synonyms ORDER BY id"))).all()
    return [_read(row) for row in rows]


async def create_synonym(session: AsyncSession, data: SynonymCreate, actor: uuid.UUID | None) -> SynonymRead:
    terms, replacements = validate(data)
    row = (await session.execute(
        text(f"INSERT INTO synonyms (terms, replacements, created_by) VALUES (:t, :r, :a) RETURNING {_COLUMNS}"),
        {"t": terms, "r": replacements, "a": actor})).one()
    return _read(row)


async def delete_synonym(session: AsyncSession, synonym_id: int) -> None:
    deleted = (await session.execute(text("DELETE FROM synonyms WHERE id = :id RETURNING id"),
                                     {"id": synonym_id})).first()
    if deleted is None:
        raise NotFound(f"Synonym {synonym_id} does not exist.", {"id": synonym_id}, code="SYNONYM_NOT_FOUND")
