"""Prometheus metrics at `/metrics`: request rate and latency per route group, the indexer's lag, and the read
replica's replication lag when one is configured (CATALOG_POSTGRES_READ_* or CATALOG_POSTGRES_REPLICA=true).

Under `catalog run` / `catalog api` the API is several worker processes: each writes its series to files in
`PROMETHEUS_MULTIPROC_DIR` (prometheus-client's multiprocess mode) and whichever worker answers a scrape sums
them all, so the counts cover every worker. The lag gauges are read from PostgreSQL at scrape time (the most
recent reading wins). Without that variable (tests, a plain uvicorn) the process's own registry is served.
"""

from __future__ import annotations

import logging
import os

import psycopg
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

from catalog.settings import Settings
from db.outbox import LAG_SQL
from db.replication import LAG_SQL as REPLICA_LAG_SQL
from db.replication import ReplicaLag

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
# The read replica as it reports itself, labelled with its address: no series at all without a read server.
REPLICA_UP = Gauge(
    "catalog_postgres_replica_up",
    "1: the read replica answers as a standby; 0: it does not (the dashboard reads the primary)",
    ["server"],
    multiprocess_mode="mostrecent",
)
REPLICA_STREAMING = Gauge(
    "catalog_postgres_replica_streaming",
    "1: the replica's WAL receiver is streaming from the primary",
    ["server"],
    multiprocess_mode="mostrecent",
)
REPLICA_LAG_SECONDS = Gauge(
    "catalog_postgres_replica_lag_seconds",
    "Replication lag: age of the last replayed transaction while received WAL awaits replay, 0 when caught up",
    ["server"],
    multiprocess_mode="mostrecent",
)
REPLICA_LAG_BYTES = Gauge(
    "catalog_postgres_replica_lag_bytes",
    "WAL the replica has received but not yet replayed",
    ["server"],
    multiprocess_mode="mostrecent",
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
    settings: Settings = state.settings
    if settings.reads_elsewhere:
        await _observe_replica(settings)
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


async def _observe_replica(settings: Settings) -> None:
    """Read the lag on the replica itself (a short-lived connection per scrape, with the read connect timeout)."""
    server = "{}:{}".format(*settings.read_address)
    try:
        async with await psycopg.AsyncConnection.connect(settings.read_dsn) as conn:
            row = await (await conn.execute(REPLICA_LAG_SQL)).fetchone()
        lag = ReplicaLag.from_row(row)
    except psycopg.Error as exc:
        log.warning("metrics: read replica %s unavailable (%s)", server, exc.__class__.__name__)
        REPLICA_UP.labels(server).set(0)
        REPLICA_STREAMING.labels(server).set(0)
        for gauge in (REPLICA_LAG_SECONDS, REPLICA_LAG_BYTES):
            gauge.labels(server).set(float("nan"))  # unknown, not "caught up"
        return
    REPLICA_UP.labels(server).set(1 if lag.in_recovery else 0)
    REPLICA_STREAMING.labels(server).set(1 if lag.streaming else 0)
    REPLICA_LAG_SECONDS.labels(server).set(lag.seconds)
    REPLICA_LAG_BYTES.labels(server).set(lag.bytes)


def _registry() -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry
