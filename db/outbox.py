"""SQL about the transactional outbox shared by the indexer and the API (metrics, read-your-writes)."""

from __future__ import annotations

LAG_SQL = """
SELECT
    (SELECT count(*) FROM outbox WHERE processed_at IS NULL) AS backlog,
    (SELECT coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)
       FROM outbox WHERE processed_at IS NULL) AS oldest_age,
    (SELECT count(*) FROM outbox WHERE processed_at > clock_timestamp() - interval '1 minute') AS last_minute,
    (SELECT count(*) FROM dead_letters WHERE resolved_at IS NULL) AS dead_letters
"""
"""One row: backlog, age of the oldest pending change (s), changes acknowledged in the last minute, dead letters."""

CHANGE_SEARCHABLE_SQL = """
SELECT coalesce((SELECT processed_at IS NOT NULL FROM outbox WHERE id = :change),
                :change <= (SELECT coalesce(max(id), 0) FROM outbox))
"""
"""Read-your-writes: true once the change (an outbox id, e.g. the X-Catalog-Change header) is searchable. The
indexer sets `processed_at` only after OpenSearch acknowledged the batch AND a refresh made it visible; only
processed rows are pruned, so a row that is gone was searchable too."""
