"""SQL about the transactional outbox shared by the indexer and the API's metrics."""

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
