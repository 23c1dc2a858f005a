"""OpenSearch and Redis clients built from the catalog settings."""

from __future__ import annotations

import redis
from opensearchpy import OpenSearch

from catalog import opensearch_client
from catalog.settings import Settings


def make_client(settings: Settings, timeout: float = 60.0) -> OpenSearch:
    """A client of every node that never retries on its own: the indexer decides what is transient and backs off.

    A node that refuses a connection is still left out of the rotation for a while (opensearch-py marks it dead
    before raising), so the batch's retry goes to another node. An HTTP error (e.g. 503 while a cluster manager is
    elected) marks nothing: the node is alive, the batch retry waits for the cluster.
    """
    return opensearch_client.make_client(settings, timeout=timeout)


def make_redis(settings: Settings) -> redis.Redis:
    """Short timeouts: Redis is a side channel for the indexer and must never stall it."""
    return redis.Redis.from_url(settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)

