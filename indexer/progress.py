"""Read-your-writes: how a reader learns that a change (an outbox id) is searchable.

The indexer sets `outbox.processed_at` only after OpenSearch acknowledged the batch AND a refresh made
it visible, so a change is searchable exactly when its row has `processed_at`, or when the row is gone
(only processed rows are pruned). After every batch the indexer also INCRs the Redis key
`catalog:index_generation:<alias>` (see `catalog.index_contract.generation_key`), which caches can key on.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection

from db.outbox import CHANGE_SEARCHABLE_SQL


def _psycopg(sql: str) -> str:
    return sql.replace(":change", "%(change)s")


def change_is_searchable(conn: Connection[Any], change_id: int) -> bool:
    row = conn.execute(_psycopg(CHANGE_SEARCHABLE_SQL), {"change": change_id}).fetchone()
    return bool(row and row[0])

