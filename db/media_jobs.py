"""The thumbnail queue and the garbage collector's view of the media tables (plain psycopg, for the commands).

Pending thumbnails are leased, not held locked: a claim moves `next_attempt_at` past the lease and commits, so
no lock is held while the worker talks to the object store, and a crashed worker's rows come back on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import Connection

NOTIFY_CHANNEL = "catalog_media"

_CLAIM_SQL = """
WITH picked AS (
    SELECT image_id, size FROM image_thumbnails
    WHERE status = 'pending' AND next_attempt_at <= clock_timestamp()
    ORDER BY next_attempt_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE image_thumbnails t
SET next_attempt_at = clock_timestamp() + make_interval(secs => %(lease)s), attempts = t.attempts + 1
FROM picked, product_images i
WHERE t.image_id = picked.image_id AND t.size = picked.size AND i.id = t.image_id
RETURNING t.image_id, t.size, t.key, t.attempts, t.created_at, i.key AS original_key, i.product_id
"""


@dataclass(frozen=True)
class ThumbnailJob:
    image_id: int
    size: int
    key: str
    attempts: int
    created_at: datetime
    original_key: str
    product_id: int


def claim(conn: Connection[Any], limit: int, lease_seconds: float) -> list[ThumbnailJob]:
    """Lease up to `limit` due thumbnails (oldest first); concurrent workers never get the same row."""
    with conn.transaction():
        rows = conn.execute(_CLAIM_SQL, {"limit": limit, "lease": lease_seconds}).fetchall()
    return [ThumbnailJob(*row) for row in rows]


def _lock_product(conn: Connection[Any], image_id: int) -> bool:
    """Lock the image's product before touching its thumbnails: every writer of a product's media takes the
    product row first, so the worker and the API never wait on each other in opposite orders (no deadlock)."""
    found = conn.execute(
        "SELECT 1 FROM products p JOIN product_images i ON i.product_id = p.id WHERE i.id = %s FOR UPDATE OF p",
        (image_id,),
    ).fetchone()
    return found is not None


def mark_ready(conn: Connection[Any], image_id: int, sizes: list[int]) -> None:
    """The thumbnails are in the store: ready (the trigger refreshes the product, which re-indexes it)."""
    with conn.transaction():
        if _lock_product(conn, image_id):
            conn.execute(
                "UPDATE image_thumbnails SET status = 'ready', error = NULL, updated_at = clock_timestamp() "
                "WHERE image_id = %s AND size = ANY(%s) AND status = 'pending'",
                (image_id, sizes),
            )


def mark_failed(conn: Connection[Any], image_id: int, sizes: list[int], error: str) -> None:
    """A thumbnail that can never be made (its original is unreadable): failed, with the reason."""
    with conn.transaction():
        if _lock_product(conn, image_id):
            conn.execute(
                "UPDATE image_thumbnails SET status = 'failed', error = %s, updated_at = clock_timestamp() "
                "WHERE image_id = %s AND size = ANY(%s) AND status = 'pending'",
                (error[:1000], image_id, sizes),
            )


def retry_later(conn: Connection[Any], image_id: int, sizes: list[int], error: str, delay_seconds: float) -> None:
    """A transient failure (the store is down): stays pending, due again after `delay_seconds`."""
    conn.execute(
        "UPDATE image_thumbnails SET error = %s, updated_at = clock_timestamp(), "
        "next_attempt_at = clock_timestamp() + make_interval(secs => %s) "
        "WHERE image_id = %s AND size = ANY(%s) AND status = 'pending'",
        (error[:1000], delay_seconds, image_id, sizes),
    )


def pending_count(conn: Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM image_thumbnails WHERE status = 'pending'").fetchone()
    return int(row[0]) if row else 0


# --- garbage collection --------------------------------------------------------------------------------------


def referenced_keys(conn: Connection[Any]) -> set[str]:
    """Every key a row points to: images, their thumbnails, and presigned uploads still open."""
    rows = conn.execute("""
        SELECT key FROM product_images
        UNION ALL SELECT key FROM image_thumbnails
        UNION ALL SELECT key FROM media_uploads WHERE completed_at IS NULL AND expires_at > now()
    """).fetchall()
    return {str(row[0]) for row in rows}


def drop_finished_uploads(conn: Connection[Any], older_than_hours: float) -> int:
    """Forget uploads that completed or expired more than `older_than_hours` ago (their objects are gc'd)."""
    cursor = conn.execute(
        "DELETE FROM media_uploads WHERE coalesce(completed_at, expires_at) < now() - make_interval(secs => %s * 3600)",
        (older_than_hours,),
    )
    return cursor.rowcount
