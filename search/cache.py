"""Redis response cache: one round trip per lookup, never stale.

The indexer INCRs `catalog:index_generation:<alias>` after every acknowledged batch and every synonym change
INCRs `catalog:synonyms_generation:<alias>`. A cached value is stored under the normalized request alone and
starts with the two generations it was computed under; a lookup reads both counters and the entry in one MGET
and only uses the entry when its generations are the current ones, so an indexed change invalidates everything
at once and nothing stale is ever served. Writes happen in the background, off the response path.

Redis being down only means answering uncached: after an error the cache stays out of the way for a few
seconds instead of timing out on every request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

from catalog import index_contract
from search import synonyms

log = logging.getLogger(__name__)

TTL_SECONDS: Final = 300
BACKOFF_SECONDS: Final = 5.0
MAX_PENDING_WRITES: Final = 256
Generations = tuple[str | None, str | None]
UNKNOWN: Final[Generations] = (None, None)
_SEPARATOR: Final = b"\n"


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


def _bytes(value: bytes | str | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


@dataclass(frozen=True)
class Lookup:
    """What one round trip told: the current generations, and the cached payload if it is current."""

    generations: Generations
    key: str | None
    payload: bytes | None

    @property
    def known(self) -> bool:
        return self.generations[0] is not None and self.generations[1] is not None


def stamp(generations: Generations) -> bytes:
    """The prefix of a cached value: the generations it was computed under."""
    return f"{generations[0]}:{generations[1]}".encode() + _SEPARATOR


def current_payload(value: bytes | None, generations: Generations) -> bytes | None:
    """The payload of a stored value when it was computed under exactly `generations`, else None."""
    if value is None:
        return None
    prefix = stamp(generations)
    return value[len(prefix):] if value.startswith(prefix) else None


class ResponseCache:
    def __init__(self, redis: Redis, alias: str) -> None:
        self.redis = redis
        self.alias = alias
        self._keys = (index_contract.generation_key(alias), synonyms.generation_key(alias))
        self._skip_until = 0.0
        self._writes: set[asyncio.Task[None]] = set()

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._skip_until

    def _failed(self, exc: BaseException) -> None:
        if self.available:
            log.warning("search cache unavailable, answering uncached for %.0fs: %s", BACKOFF_SECONDS, exc)
        self._skip_until = time.monotonic() + BACKOFF_SECONDS

    def key(self, kind: str, normalized: str) -> str:
        digest = hashlib.blake2b(normalized.encode(), digest_size=16).hexdigest()
        return f"catalog:search:{kind}:{self.alias}:{digest}"

    async def lookup(self, kind: str, normalized: str | None) -> Lookup:
        """Generations and (unless `normalized` is None: a request that bypasses the cache) the cached payload,
        in one MGET. Unknown generations (Redis down) mean: answer uncached, do not store."""
        if not self.available:
            return Lookup(UNKNOWN, None, None)
        key = self.key(kind, normalized) if normalized is not None else None
        try:
            values = await self.redis.mget([*self._keys, key] if key else self._keys)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return Lookup(UNKNOWN, None, None)
        generations = (_text(values[0]) or "0", _text(values[1]) or "0")
        payload = current_payload(_bytes(values[2]), generations) if key else None
        return Lookup(generations, key, payload)

    async def generations(self) -> Generations:
        """(index generation, synonyms generation); (None, None) when Redis cannot tell."""
        return (await self.lookup("", None)).generations

    async def put(self, found: Lookup, payload: bytes) -> None:
        """Store `payload` for the request `found` was looked up for, stamped with its generations."""
        if found.key is None or not found.known or not self.available:
            return
        try:
            await self.redis.set(found.key, stamp(found.generations) + payload, ex=TTL_SECONDS)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)

    def put_later(self, found: Lookup, payload: bytes) -> None:
        """`put` in the background: the response does not wait for the write."""
        if found.key is None or not found.known or len(self._writes) >= MAX_PENDING_WRITES:
            return
        task = asyncio.get_running_loop().create_task(self.put(found, payload))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def bump_synonyms(self) -> None:
        try:
            await self.redis.incr(self._keys[1])
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("could not bump the synonyms generation (caches expire within their TTL): %s", exc)
