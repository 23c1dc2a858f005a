"""Dashboard analytics, the building blocks: the global `Filters`, their SQL conditions and parameters, the
`catalog_facts` CTE, and `frame`, which runs one query into a small DataFrame.

Each page's functions (db.analytics.overview, inventory, pricing, quality, search) take an Engine and a small
`Filters` value and return a small pandas DataFrame (GROUP BY, LIMIT, percentile_cont, width_bucket): whole
tables never travel to Python. Archived products are out of the merchandisers' scope, so quality figures leave
them out (as the quality snapshots do).

Speed at 1M products: the per-category stock and completeness sums (products per status, ready to sell,
stock-outs, units, stock value, completeness bands; per warehouse too) come from `catalog_facts`, which the
database keeps exact with statement triggers (migration 0004), so those figures read a few hundred rows instead
of joining every product with its stock. The table has no brand column: with a brand filter the same figures
are computed from products and inventory directly (`_live_*`), which the brand index keeps small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, text

UNCATEGORIZED = "(uncategorized)"
MAX_ROWS = 1000
"""The most rows any list function returns (the worst-records CSV export included)."""


@dataclass(frozen=True)
class Filters:
    """The dashboard's global filters. `category` is a category path and covers its whole subtree;
    `warehouse_id` narrows stock figures; `start`/`end` (inclusive days) narrow events in time."""

    category: str | None = None
    brand: str | None = None
    warehouse_id: int | None = None
    start: date | None = None
    end: date | None = None

    @property
    def group_level(self) -> int:
        """Breakdowns "by category" show the level below the chosen category (top level without one)."""
        return self.category.count("/") + 2 if self.category else 1


# --- building blocks -------------------------------------------------------------------------------------------


def _like_prefix(path: str) -> str:
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "/%"


def _params(f: Filters, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"category": f.category, "brand": f.brand, "warehouse": f.warehouse_id,
                              "start": f.start, **extra}
    params["category_prefix"] = _like_prefix(f.category) if f.category else None
    params["end_excl"] = f.end + timedelta(days=1) if f.end else None
    return params


def _scope(f: Filters, alias: str = "p") -> str:
    """SQL condition on a products alias for the category (subtree) and brand filters."""
    parts = ["TRUE"]
    if f.category:
        parts.append(f"{alias}.category_id IN (SELECT id FROM categories "
                     "WHERE path = :category OR path LIKE :category_prefix)")
    if f.brand:
        parts.append(f"{alias}.brand = :brand")
    return " AND ".join(parts)


def _scoped(f: Filters) -> bool:
    return bool(f.category or f.brand)


def _window(f: Filters, column: str, is_date: bool = False) -> str:
    """The date range on a timestamptz column (days are UTC days, whatever the session time zone) or a date."""
    start, end = "CAST(:start AS date)", "CAST(:end_excl AS date)"
    if not is_date:
        start, end = (f"({bound}::timestamp AT TIME ZONE 'UTC')" for bound in (start, end))
    parts = ["TRUE"]
    if f.start:
        parts.append(f"{column} >= {start}")
    if f.end:
        parts.append(f"{column} < {end}")
    return " AND ".join(parts)


def _warehouse(f: Filters, alias: str = "i") -> str:
    return f"{alias}.warehouse_id = :warehouse" if f.warehouse_id is not None else "TRUE"


def _group_key(f: Filters, alias: str = "c") -> str:
    """The category a product counts under in a breakdown: its path cut to `group_level` levels."""
    return (f"coalesce(array_to_string((string_to_array({alias}.path, '/'))[1:{f.group_level}], '/'), "
            f"'{UNCATEGORIZED}')")


FACTS_COMPACT_ABOVE = 5000
"""Fold catalog_facts' deltas back to one row per key once it holds more rows than this."""


def _facts(f: Filters) -> str:
    """A `facts` CTE: catalog_facts summed per key (category_id, status, currency, warehouse_id; warehouse 0 is
    the product itself) for the category filter. `sw` is the warehouse the stock figures read (0 = all)."""
    return f"""facts AS (
        SELECT category_id, status, currency, warehouse_id,
               sum(products)::bigint AS products, sum(completeness_sum)::bigint AS completeness_sum,
               sum(complete)::bigint AS complete, sum(band_90)::bigint AS band_90, sum(band_75)::bigint AS band_75,
               sum(band_50)::bigint AS band_50, sum(in_stock)::bigint AS in_stock, sum(ready)::bigint AS ready,
               sum(on_hand)::bigint AS on_hand, sum(reserved)::bigint AS reserved, sum(stock_value) AS stock_value
        FROM catalog_facts WHERE {_facts_scope(f)} GROUP BY category_id, status, currency, warehouse_id
    )"""


def _facts_scope(f: Filters) -> str:
    """The category filter on catalog_facts (its subtree; no filter includes uncategorized products)."""
    return ("category_id IN (SELECT id FROM categories WHERE path = :category OR path LIKE :category_prefix)"
            if f.category else "TRUE")


def _uses_facts(f: Filters) -> bool:
    return not f.brand


def _stock_warehouse(f: Filters) -> int:
    return f.warehouse_id if f.warehouse_id is not None else 0


def compact_facts(engine: Engine, above: int = FACTS_COMPACT_ABOVE) -> bool:
    """Fold catalog_facts back to one row per key when writes have piled up more than `above` delta rows."""
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '1s'"))  # another reader compacting: skip, not wait
        rows = connection.execute(text("SELECT count(*) FROM (SELECT 1 FROM catalog_facts LIMIT :n) t"),
                                  {"n": above + 1}).scalar() or 0
        if rows <= above:
            return False
        connection.execute(text("SELECT catalog_facts_compact()"))
        return True


def frame(engine: Engine, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run one query and return its (small) result as a DataFrame with the query's column names."""
    with engine.connect() as connection:
        result = connection.execute(text(sql), params or {})
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _one(engine: Engine, sql: str, params: dict[str, Any]) -> dict[str, Any]:
    with engine.connect() as connection:
        row = connection.execute(text(sql), params).mappings().one()
        return dict(row)

