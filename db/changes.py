"""The change log: commit-ordered changes to products, stock and prices, read by GET /changes and the webhook worker.

SQL is in psycopg's `%(name)s` style, so the API (through SQLAlchemy's `exec_driver_sql`) and the worker (plain
psycopg) run the very same statements. Migration 0007 explains the commit-order guarantee.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ENTITIES = ("product", "stock", "price", "group")  # "group": product groups (variants), not written yet

_CURSOR = re.compile(r"^(\d{1,18})\.(\d{1,18})$")


@dataclass(frozen=True, order=True)
class Cursor:
    """A position in the change log: after every change up to (commit_seq, change_id) inclusive."""

    commit_seq: int
    change_id: int

    def encode(self) -> str:
        return f"{self.commit_seq}.{self.change_id}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        match = _CURSOR.match(text)
        if match is None:
            raise ValueError(f"not a change cursor: {text!r} (expected '<commit>.<change>', e.g. '42.1337')")
        return cls(int(match.group(1)), int(match.group(2)))


START = Cursor(0, 0)


@dataclass(frozen=True)
class Change:
    cursor: Cursor
    entity: str
    entity_id: str
    product_id: int | None
    action: str
    version: int
    fields: list[str]
    data: dict[str, Any]
    committed_at: datetime


WATERMARK_SQL = "SELECT change_log_watermark()"
"""Run it in its own statement BEFORE `READ_SQL` (READ COMMITTED): that read's snapshot then sees every change
up to the watermark."""

READ_SQL = """
SELECT t.commit_seq, c.id, c.entity, c.entity_id, c.product_id, c.action, c.version, c.fields, c.data,
       t.committed_at
FROM change_transactions t JOIN change_log c ON c.xid = t.xid
WHERE t.commit_seq >= %(seq)s AND t.commit_seq <= %(watermark)s AND (t.commit_seq, c.id) > (%(seq)s, %(id)s)
ORDER BY t.commit_seq, c.id
LIMIT %(limit)s
"""

HORIZON_SQL = "SELECT commit_seq, change_id FROM change_log_horizon"

LAST_OF_COMMIT_SQL = """
SELECT coalesce(max(c.id), 0) FROM change_transactions t JOIN change_log c ON c.xid = t.xid
WHERE t.commit_seq = %(seq)s
"""

# Whole transactions older than the retention (and, when given, not past `keep_after`, the webhook worker's
# progress) go; the horizon moves to the last change deleted.
PRUNE_SQL = """
WITH doomed AS (
    SELECT xid, commit_seq FROM change_transactions
    WHERE committed_at < clock_timestamp() - make_interval(secs => %(retention)s)
      AND commit_seq <= %(keep_after)s
    ORDER BY commit_seq
    LIMIT %(chunk)s
), gone AS (
    DELETE FROM change_log c USING doomed d WHERE c.xid = d.xid RETURNING d.commit_seq, c.id
), done AS (
    DELETE FROM change_transactions t USING doomed d WHERE t.xid = d.xid RETURNING t.commit_seq
), last AS (
    SELECT commit_seq, id FROM gone ORDER BY commit_seq DESC, id DESC LIMIT 1
)
UPDATE change_log_horizon h SET commit_seq = last.commit_seq, change_id = last.id
FROM last WHERE (last.commit_seq, last.id) > (h.commit_seq, h.change_id)
RETURNING (SELECT count(*) FROM done)
"""
PRUNE_CHUNK = 5000
NO_LIMIT = 2**62


def change_from_row(row: Any) -> Change:
    seq, change_id, entity, entity_id, product_id, action, version, fields, data, committed_at = row
    return Change(
        Cursor(int(seq), int(change_id)),
        entity,
        entity_id,
        product_id,
        action,
        int(version),
        list(fields),
        dict(data),
        committed_at,
    )


def read_params(after: Cursor, watermark: int, limit: int) -> dict[str, Any]:
    return {"seq": after.commit_seq, "id": after.change_id, "watermark": watermark, "limit": limit}


def prune_params(retention_hours: float, keep_after: int | None) -> dict[str, Any]:
    return {
        "retention": retention_hours * 3600,
        "keep_after": NO_LIMIT if keep_after is None else keep_after,
        "chunk": PRUNE_CHUNK,
    }
