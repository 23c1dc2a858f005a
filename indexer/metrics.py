"""Indexer lag: Prometheus metrics and the same figures as a plain function for `catalog indexer status`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, start_http_server
from psycopg import Connection

from db.outbox import LAG_SQL

BACKLOG = Gauge("catalog_indexer_backlog", "Outbox changes not yet acknowledged by OpenSearch")
OLDEST_CHANGE_AGE = Gauge(
    "catalog_indexer_oldest_change_age_seconds",
    "Age of the oldest unprocessed outbox change (0 when caught up)",
)
DOCS_INDEXED = Counter(
    "catalog_indexer_docs_indexed_total", "Documents written or deleted in OpenSearch by this process"
)
DEAD_LETTERS = Gauge("catalog_indexer_dead_letters", "Unresolved dead letters")
BATCH_SECONDS = Histogram(
    "catalog_indexer_batch_seconds",
    "Wall time of one claimed batch, claim to commit",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

@dataclass(frozen=True)
class LagStats:
    backlog: int
    oldest_change_age_seconds: float
    changes_per_second: float  # outbox changes acknowledged per second over the last minute
    dead_letters: int


def lag_stats(conn: Connection[Any]) -> LagStats:
    row = conn.execute(LAG_SQL).fetchone()
    assert row is not None
    backlog, oldest, last_minute, dead = row
    return LagStats(int(backlog), float(oldest), int(last_minute) / 60.0, int(dead))


def publish(stats: LagStats) -> None:
    BACKLOG.set(stats.backlog)
    OLDEST_CHANGE_AGE.set(stats.oldest_change_age_seconds)
    DEAD_LETTERS.set(stats.dead_letters)


def serve(port: int, host: str = "127.0.0.1") -> None:
    """Expose /metrics on host:port from a daemon thread."""
    start_http_server(port, addr=host)
