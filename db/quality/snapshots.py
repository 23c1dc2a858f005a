"""Daily quality snapshots: taking them (one per category subtree plus the catalog-wide row) and reading them back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, text

from db.quality.engine import Queryable
from db.quality.ready import ready_to_sell_sql

CATALOG_WIDE = 0
"""`quality_snapshots.category_id` of the row that covers the whole catalog (uncategorized included)."""

# Archived products are out of the merchandisers' scope and do not count. Leaf stats are computed once and
# rolled up through the path prefix, so the cost is one scan of products whatever the tree depth.
_SNAPSHOT_SQL = f"""
WITH per_category AS (
    SELECT p.category_id, count(*) AS products, sum(p.completeness) AS completeness_sum,
           count(*) FILTER (WHERE p.completeness = 100) AS complete,
           count(*) FILTER (WHERE {ready_to_sell_sql("p")}) AS ready
    FROM products p WHERE p.status <> 'archived'
    GROUP BY p.category_id
), scoped AS (
    SELECT c.id AS category_id, c.path, pc.products, pc.completeness_sum, pc.complete, pc.ready
    FROM categories c
    LEFT JOIN categories d ON d.path = c.path OR d.path LIKE c.path || '/%'
    LEFT JOIN per_category pc ON pc.category_id = d.id
    UNION ALL
    SELECT {CATALOG_WIDE}, '', products, completeness_sum, complete, ready FROM per_category
    UNION ALL  -- the catalog-wide row even for an empty catalog: it is what says the day's snapshot was taken
    SELECT {CATALOG_WIDE}, '', NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint
), totals AS (
    SELECT category_id, path, coalesce(sum(products), 0) AS products,
           coalesce(sum(completeness_sum), 0) AS completeness_sum,
           coalesce(sum(complete), 0) AS complete, coalesce(sum(ready), 0) AS ready
    FROM scoped GROUP BY category_id, path
)
INSERT INTO quality_snapshots AS s (taken_on, category_id, category_path, products, avg_completeness,
                                    complete_pct, ready_to_sell_pct)
SELECT CAST(:day AS date), category_id, path, products,
       round(completeness_sum::numeric / greatest(products, 1), 2),
       round(100.0 * complete / greatest(products, 1), 2),
       round(100.0 * ready / greatest(products, 1), 2)
FROM totals
ON CONFLICT (taken_on, category_id) DO UPDATE SET
    category_path = excluded.category_path, products = excluded.products,
    avg_completeness = excluded.avg_completeness, complete_pct = excluded.complete_pct,
    ready_to_sell_pct = excluded.ready_to_sell_pct
"""


def take_snapshot(engine: Engine, day: date) -> int:
    """Upsert one row per category (its whole subtree) plus the catalog-wide row for `day`.

    Idempotent: taking it again the same day replaces that day's figures. Returns the rows written.
    """
    with engine.begin() as connection:
        connection.execute(text(
            "DELETE FROM quality_snapshots WHERE taken_on = :day AND category_id <> :wide "
            "AND category_id NOT IN (SELECT id FROM categories)"), {"day": day, "wide": CATALOG_WIDE})
        return connection.execute(text(_SNAPSHOT_SQL), {"day": day}).rowcount


@dataclass(frozen=True)
class SnapshotPoint:
    taken_on: date
    products: int
    avg_completeness: Decimal
    complete_pct: Decimal
    ready_to_sell_pct: Decimal


def snapshot_series(connection: Queryable, category_id: int = CATALOG_WIDE, since: date | None = None,
                    until: date | None = None) -> list[SnapshotPoint]:
    """The daily snapshots of one category (or CATALOG_WIDE), oldest first, within [since, until]."""
    rows = connection.execute(text("""
        SELECT taken_on, products, avg_completeness, complete_pct, ready_to_sell_pct FROM quality_snapshots
        WHERE category_id = :category AND taken_on >= coalesce(CAST(:since AS date), '-infinity')
          AND taken_on <= coalesce(CAST(:until AS date), 'infinity')
        ORDER BY taken_on
    """), {"category": category_id, "since": since, "until": until}).all()
    return [SnapshotPoint(*row) for row in rows]


SNAPSHOT_LOCK_KEY = 7_301_001
"""PostgreSQL advisory lock key: one snapshot taker at a time, however many API workers race for it."""


def try_snapshot_lock(connection: Queryable) -> bool:
    """Take the snapshot lock for the connection's transaction; False when another process holds it."""
    return bool(connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                   {"key": SNAPSHOT_LOCK_KEY}).scalar_one())


def has_snapshot(connection: Queryable, day: date) -> bool:
    """Has the catalog-wide row of `day` been taken?"""
    return bool(connection.execute(text("SELECT EXISTS (SELECT 1 FROM quality_snapshots WHERE taken_on = :day "
                                        "AND category_id = :wide)"), {"day": day, "wide": CATALOG_WIDE}).scalar_one())
