"""Prometheus metrics at `/metrics`: request rate and latency per route group, and the indexer's lag.

Under `catalog run` / `catalog api` the API is several worker processes: each writes its series to files in
`PROMETHEUS_MULTIPROC_DIR` (prometheus-client's multiprocess mode) and whichever worker answers a scrape sums
them all, so the counts cover every worker. The lag gauges are read from PostgreSQL at scrape time (the most
recent reading wins). Without that variable (tests, a plain uvicorn) the process's own registry is served.
"""

from __future__ import annotations

import logging
import os

from litestar import Response, get
from litestar.datastructures import State
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import text

from db.outbox import LAG_SQL

log = logging.getLogger("catalog.api")

REQUESTS = Counter("catalog_http_requests_total", "HTTP requests answered", ["method", "route_group", "status"])
LATENCY = Histogram(
    "catalog_http_request_duration_seconds",
    "HTTP request latency",
    ["route_group"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
# The indexer's lag as the outbox shows it (the indexer process exports its own catalog_indexer_* series).
INDEXER_BACKLOG = Gauge(
    "catalog_outbox_pending_changes", "Committed changes not yet searchable", multiprocess_mode="mostrecent"
)
INDEXER_OLDEST = Gauge(
    "catalog_outbox_oldest_pending_age_seconds",
    "Age of the oldest change not yet searchable",
    multiprocess_mode="mostrecent",
)
INDEXER_RATE = Gauge(
    "catalog_outbox_acknowledged_per_second",
    "Changes made searchable per second, last minute",
    multiprocess_mode="mostrecent",
)
DEAD_LETTERS = Gauge(
    "catalog_dead_letters_unresolved", "Documents OpenSearch refused, awaiting a fix", multiprocess_mode="mostrecent"
)

KNOWN_GROUPS = {
    "products",
    "categories",
    "warehouses",
    "search",
    "synonyms",
    "quality",
    "users",
    "auth",
    "health",
    "ready",
    "metrics",
    "schema",
}


def route_group(path: str) -> str:
    """First path segment, from a closed set so label cardinality stays bounded."""
    first = path.strip("/").split("/", 1)[0]
    return first if first in KNOWN_GROUPS else "other"


def observe_request(method: str, path: str, status: int, seconds: float) -> None:
    """Count one answered request and its latency (called by the request-context middleware)."""
    group = route_group(path)
    REQUESTS.labels(method, group, str(status)).inc()
    LATENCY.labels(group).observe(seconds)


@get("/metrics", tags=["operations"], security=[{}], include_in_schema=False)
async def metrics(state: State) -> Response[bytes]:
    try:
        async with state.engine.connect() as conn:
            backlog, oldest, last_minute, dead = (await conn.execute(text(LAG_SQL))).one()
        INDEXER_BACKLOG.set(backlog)
        INDEXER_OLDEST.set(float(oldest))
        INDEXER_RATE.set(int(last_minute) / 60)
        DEAD_LETTERS.set(dead)
    except Exception as exc:  # the database being down must not hide the request metrics
        log.warning("metrics: outbox lag unavailable (%s)", exc.__class__.__name__)
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry
