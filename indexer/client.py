"""OpenSearch and Redis clients built from the catalog settings."""

from __future__ import annotations

import redis
from opensearchpy import OpenSearch

from catalog.settings import Settings


def make_client(settings: Settings, timeout: float = 60.0) -> OpenSearch:
    """A client that never retries on its own: the indexer decides what is transient and backs off."""
    return OpenSearch(
        hosts=[{"host": settings.opensearch_host, "port": settings.opensearch_port}],
        timeout=timeout,
        max_retries=0,
        retry_on_timeout=False,
        http_compress=False,
    )


def make_redis(settings: Settings) -> redis.Redis:
    """Short timeouts: Redis is a side channel for the indexer and must never stall it."""
    return redis.Redis.from_url(settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)


def generation_key(alias: str) -> str:
    """Redis counter bumped after every acknowledged batch (search caches key on it)."""
    return f"catalog:index_generation:{alias}"
