"""Redis response cache keyed by the normalized request and the index and synonym generations.

The indexer INCRs `catalog:index_generation:<alias>` after every acknowledged batch, so an indexed change
moves every key and nothing stale is ever served. Redis being down only means answering uncached: after an
error the cache stays out of the way for a few seconds instead of timing out on every request.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.search import synonyms
from indexer.client import generation_key

log = logging.getLogger(__name__)

TTL_SECONDS: Final = 300
BACKOFF_SECONDS: Final = 5.0
Generations = tuple[str | None, str | None]


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


class ResponseCache:
    def __init__(self, redis: Redis, alias: str) -> None:
        self.redis = redis
        self.alias = alias
        self._keys = (generation_key(alias), synonyms.generation_key(alias))
        self._skip_until = 0.0

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._skip_until

    def _failed(self, exc: BaseException) -> None:
        if self.available:
            log.warning("search cache unavailable, answering uncached for %.0fs: %s", BACKOFF_SECONDS, exc)
        self._skip_until = time.monotonic() + BACKOFF_SECONDS

    async def generations(self) -> Generations:
        """(index generation, synonyms generation); (None, None) when Redis cannot tell."""
        if not self.available:
            return None, None
        try:
            index_gen, synonym_gen = await self.redis.mget(self._keys)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return None, None
        return _text(index_gen) or "0", _text(synonym_gen) or "0"

    def key(self, kind: str, normalized: str, generations: Generations) -> str | None:
        index_gen, synonym_gen = generations
        if index_gen is None or synonym_gen is None:
            return None
        digest = hashlib.blake2b(normalized.encode(), digest_size=16).hexdigest()
        return f"catalog:search:{kind}:{self.alias}:{index_gen}:{synonym_gen}:{digest}"

    async def get(self, key: str | None) -> bytes | None:
        if key is None or not self.available:
            return None
        try:
            value = await self.redis.get(key)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return None
        return value if isinstance(value, bytes) or value is None else value.encode()

    async def put(self, key: str | None, payload: bytes) -> None:
        if key is None or not self.available:
            return
        try:
            await self.redis.set(key, payload, ex=TTL_SECONDS)
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)

    async def bump_synonyms(self) -> None:
        try:
            await self.redis.incr(self._keys[1])
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("could not bump the synonyms generation (caches expire within their TTL): %s", exc)
