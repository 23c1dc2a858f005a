"""Read-your-writes: how a reader learns that a change (an outbox id) is searchable.

The indexer sets `outbox.processed_at` only after OpenSearch acknowledged the batch AND a refresh made
it visible, so a change is searchable exactly when its row has `processed_at`, or when the row is gone
(only processed rows are pruned). After every batch the indexer also INCRs the Redis key
`catalog:index_generation:<alias>` (see `indexer.client.generation_key`), which caches can key on.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection

# :change is the id from the write response (e.g. the X-Catalog-Change header). True = searchable.
CHANGE_SEARCHABLE_SQL = """
SELECT coalesce((SELECT processed_at IS NOT NULL FROM outbox WHERE id = :change),
                :change <= (SELECT coalesce(max(id), 0) FROM outbox))
"""

def _psycopg(sql: str) -> str:
    return sql.replace(":change", "%(change)s")


def change_is_searchable(conn: Connection[Any], change_id: int) -> bool:
    row = conn.execute(_psycopg(CHANGE_SEARCHABLE_SQL), {"change": change_id}).fetchone()
    return bool(row and row[0])

