"""Scoped search keys (as Typesense scoped keys or Meilisearch tenant tokens): a secret that confines every search
and suggestion made with it to its filter, under a rate limit of its own.

A key is `csk_` plus 32 random bytes (url-safe base64), shown once at creation; only its SHA-256 is stored.
Searches resolve keys in-process, each digest cached for KEY_TTL seconds, so a search does not read PostgreSQL
each time: a revoke takes effect at once in the process that revoked and within KEY_TTL on every other one
(expiry is checked on every request against the cached expiry time, so it is exact everywhere).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from litestar.datastructures import State
from msgspec import Meta, Struct
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.middleware import RateLimited, count_request
from catalog.errors import InvalidInput, NotFound, Unauthorized
from db import search_keys

KEY_PREFIX: Final = "csk_"
SHOWN_PREFIX_LENGTH: Final = len(KEY_PREFIX) + 8
KEY_TTL: Final = 5.0
"""Seconds a resolved key (or an unknown digest) is trusted in-process; bounds how long a revoke takes elsewhere."""
MAX_CACHED_KEYS: Final = 10_000
_KEY_SHAPE: Final = re.compile(r"csk_[A-Za-z0-9_\-]{43}")
_FILTER_NAME: Final = re.compile(r"category|brand|attr\.[a-z][a-z0-9_]{0,63}")
"""`attr.<name>` with the name as products spell attributes (catalog.field_types.AttributeName)."""
HEADER: Final = "X-Search-Key"

Confined = tuple[tuple[str, tuple[str, ...]], ...]

FilterValue = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"\S")]
FilterValues = FilterValue | Annotated[list[FilterValue], Meta(min_length=1, max_length=50)]


class SearchKeyCreate(Struct, forbid_unknown_fields=True):
    """`filter`: `category` (a path, its subtree included), `brand`, `attr.<name>`, each a value or a list of
    values (any of them); several filters all apply. Empty: a key that only rate-limits."""

    description: Annotated[str, Meta(max_length=500)] = ""
    filter: Annotated[dict[str, FilterValues], Meta(max_length=22)] = {}
    expires_at: datetime | None = None
    """When the key stops working (ISO 8601; without an offset it is read as UTC); none: until revoked."""
    rate_limit_per_minute: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None
    """Searches and suggestions per minute made with this key, all clients together; none: no limit of its own."""


class SearchKeyRead(Struct):
    id: int
    description: str
    key_prefix: str
    """The secret's first characters, to tell keys apart (the secret itself is shown only at creation)."""
    filter: dict[str, list[str]]
    expires_at: datetime | None
    rate_limit_per_minute: int | None
    revoked_at: datetime | None
    active: bool
    """Neither revoked nor expired."""
    created_by: uuid.UUID | None
    created_at: datetime


class SearchKeyCreated(SearchKeyRead):
    key: str
    """The secret: send it as `X-Search-Key`. Shown only now; keep it, it cannot be read back."""


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _invalid_filter(name: str, problem: str) -> InvalidInput:
    return InvalidInput(f"Invalid search key filter `{name}`: {problem}.", {"fields": {f"filter.{name}": problem}})


def normalized_filter(given: Mapping[str, str | list[str]]) -> dict[str, list[str]]:
    """Every filter as a sorted list of distinct values; categories without surrounding slashes."""
    found: dict[str, list[str]] = {}
    for name, values in given.items():
        if not _FILTER_NAME.fullmatch(name):
            raise _invalid_filter(name, "filter on `category`, `brand` or `attr.<name>` (lowercase letters, digits "
                                        "and underscores)")
        listed = [values] if isinstance(values, str) else values
        cleaned = {value.strip("/") if name == "category" else value for value in listed}
        if "" in cleaned:
            raise _invalid_filter(name, "a category path, e.g. `electronics/phones`")
        found[name] = sorted(cleaned)
    return dict(sorted(found.items()))


def confined(key_filter: Mapping[str, list[str]]) -> Confined:
    """The key's filter as `SearchParams.confined`."""
    return tuple((name, tuple(values)) for name, values in sorted(key_filter.items()))


def _active(row: Row[Any], now: datetime) -> bool:
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > now)


def _read(row: Row[Any]) -> SearchKeyRead:
    return SearchKeyRead(id=row.id, description=row.description, key_prefix=row.key_prefix, filter=dict(row.filter),
                         expires_at=row.expires_at, rate_limit_per_minute=row.rate_limit_per_minute,
                         revoked_at=row.revoked_at, active=_active(row, datetime.now(UTC)),
                         created_by=row.created_by, created_at=row.created_at)


# --- management ------------------------------------------------------------------------------------------

async def create_key(session: AsyncSession, data: SearchKeyCreate, actor: uuid.UUID | None) -> SearchKeyCreated:
    key_filter = normalized_filter(data.filter)
    if missing := await search_keys.missing_categories(session, key_filter.get("category", [])):
        raise _invalid_filter("category", f"no category {', '.join(missing)}; use a path from GET /categories")
    expires_at = data.expires_at
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = await search_keys.insert_key(
        session, key_hash=digest(secret), key_prefix=secret[:SHOWN_PREFIX_LENGTH], description=data.description,
        filter=key_filter, expires_at=expires_at, rate_limit_per_minute=data.rate_limit_per_minute, created_by=actor)
    read = _read(row)
    return SearchKeyCreated(**{name: getattr(read, name) for name in read.__struct_fields__}, key=secret)


async def list_keys(session: AsyncSession) -> list[SearchKeyRead]:
    return [_read(row) for row in await search_keys.list_keys(session)]


async def revoke_key(session: AsyncSession, key_id: int) -> None:
    if not await search_keys.revoke_key(session, key_id):
        raise NotFound(f"Search key {key_id} does not exist; GET /search/keys lists them.", {"id": key_id},
                       code="SEARCH_KEY_NOT_FOUND")


# --- resolving a key per request -------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchKey:
    """What a search needs of a key: its id, its filter, its limit and whether (and until when) it works."""

    id: int
    bucket: str
    """Its rate limit's counter name: from its digest, so catalogs sharing a Redis never share a key's count."""
    confined: Confined
    expires_at: datetime | None
    revoked_at: datetime | None
    rate_limit_per_minute: int | None


@dataclass(frozen=True)
class Scope:
    """The confinement of one search or suggestion: none without a key."""

    key_id: int | None = None
    confined: Confined = ()


@dataclass
class KeyStore:
    """Resolved keys by digest (None: no such key), each trusted for KEY_TTL seconds."""

    _entries: dict[bytes, tuple[float, SearchKey | None]] = field(default_factory=dict)

    async def find(self, sessions: async_sessionmaker[AsyncSession], secret: str) -> SearchKey | None:
        hashed = digest(secret)
        cached = self._entries.get(hashed)
        if cached is not None and time.monotonic() - cached[0] < KEY_TTL:
            return cached[1]
        async with sessions() as session:
            row = await search_keys.find_key(session, hashed)
        found = None if row is None else SearchKey(row.id, hashed.hex()[:32], confined(row.filter), row.expires_at,
                                                   row.revoked_at, row.rate_limit_per_minute)
        if len(self._entries) >= MAX_CACHED_KEYS:  # many distinct unknown keys: start over rather than grow
            self._entries.clear()
        self._entries[hashed] = (time.monotonic(), found)
        return found

    def forget(self, key_id: int) -> None:
        """Drop a key this process just revoked, so its next use reads the revocation."""
        self._entries = {h: entry for h, entry in self._entries.items() if entry[1] is None or entry[1].id != key_id}


def store(state: State) -> KeyStore:
    """The process's key cache, created on first use."""
    found = getattr(state, "search_key_store", None)
    if isinstance(found, KeyStore):
        return found
    created = KeyStore()
    state.search_key_store = created
    return created


def _refused(message: str) -> Unauthorized:
    return Unauthorized(message, {"header": HEADER}, code="INVALID_SEARCH_KEY")


async def _usable(state: State, secret: str) -> SearchKey:
    """The key, if it exists and is neither revoked nor expired; else 401 `INVALID_SEARCH_KEY`."""
    ask = "ask an admin for a current one (POST /search/keys)"
    key = await store(state).find(state.sessions, secret) if _KEY_SHAPE.fullmatch(secret) else None
    if key is None:
        raise _refused(f"Unknown search key in {HEADER}: send a key as POST /search/keys returned it, or {ask}.")
    if key.revoked_at is not None:
        raise _refused(f"This search key was revoked at {key.revoked_at.isoformat()}; {ask}.")
    if key.expires_at is not None and key.expires_at <= datetime.now(UTC):
        raise _refused(f"This search key expired at {key.expires_at.isoformat()}; {ask}.")
    return key


async def scope(state: State, secret: str | None) -> Scope:
    """The confinement a request's `X-Search-Key` asks for, counted under the key's rate limit: 401 for a key
    that does not work (or none when CATALOG_SEARCH_REQUIRE_KEY is set), 429 past the key's limit."""
    if secret is None:
        if state.settings.search_require_key:
            raise Unauthorized(f"This storefront's search needs a search key: send it as `{HEADER}` "
                               "(an admin creates keys with POST /search/keys).", {"header": HEADER},
                               code="SEARCH_KEY_REQUIRED")
        return Scope()
    key = await _usable(state, secret.strip())
    limit = key.rate_limit_per_minute
    if limit is not None and await count_request(state.redis, f"search_key:{key.bucket}") > limit:
        raise RateLimited(limit, f"This search key allows {limit} requests a minute; retry after the "
                                 "`Retry-After` seconds, or ask an admin for a key with a higher limit.")
    return Scope(key.id, key.confined)
