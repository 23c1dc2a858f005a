"""The one way a catalog process builds an OpenSearch client: every configured node (`settings.opensearch_hosts`,
round robin), no sniffing (the nodes to use are the configured ones: published addresses may not be reachable from
here, e.g. behind containers or a load balancer), a timeout never retried (the request was slow, not lost), and a
node that refused a connection left out of the rotation for a while (opensearch-py marks it dead before raising,
doubling the time per failure in a row).

What differs between callers is their policy: the timeout, how many times a request is retried on another node and
on which statuses, and how long a dead node stays out. The indexer and the dashboard never retry (the indexer backs
off on its own, a dashboard page must not hang); the API's search retries once (`search.client`).
"""

from __future__ import annotations

from typing import Any

from opensearchpy import OpenSearch

from catalog.settings import Settings

DEAD_NODE_SECONDS = 5.0
"""How long a node that refused a connection stays out of the rotation by default (doubling per failure in a row)."""


def client_options(settings: Settings, *, timeout: float, max_retries: int = 0, retry_on_status: tuple[int, ...] = (),
                   dead_timeout: float = DEAD_NODE_SECONDS) -> dict[str, Any]:
    """The client options of every catalog OpenSearch client (sync or async) under this retry policy."""
    return {
        "hosts": settings.opensearch_hosts,
        "timeout": timeout,
        "max_retries": max_retries,
        "retry_on_timeout": False,
        "retry_on_status": retry_on_status,
        "dead_timeout": dead_timeout,
    }


def make_client(settings: Settings, *, timeout: float, dead_timeout: float = DEAD_NODE_SECONDS) -> OpenSearch:
    """A blocking client that never retries on its own: the caller decides what is transient."""
    return OpenSearch(**client_options(settings, timeout=timeout, dead_timeout=dead_timeout), http_compress=False)
