"""Dashboard analytics: every figure the dashboard shows, aggregated inside PostgreSQL.

Each function takes an Engine and a small `Filters` value and returns a small pandas DataFrame (GROUP BY,
LIMIT, percentile_cont, width_bucket): whole tables never travel to Python. Archived products are out of
the merchandisers' scope, so quality figures leave them out (as the quality snapshots do).

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

from db import quality
from db.media_reports import thumbnail_key_sql, with_thumbnail_urls

UNCATEGORIZED = "(uncategorized)"
COMPLETENESS_BANDS = ("0-49", "50-74", "75-89", "90-99", "100")
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


# --- filter options and empty states ----------------------------------------------------------------------------


def has_products(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(connection.execute(text("SELECT EXISTS (SELECT 1 FROM products)")).scalar())


def categories(engine: Engine) -> pd.DataFrame:
    """Every category (the tree is small next to the products): id, path, name, depth."""
    return frame(engine, "SELECT id, path, name, depth FROM categories ORDER BY path LIMIT 100000")


def brands(engine: Engine, limit: int = 5000) -> list[str]:
    """Distinct brands in order, by skipping through the brand index (one probe per brand, not a scan)."""
    sql = """
        WITH RECURSIVE b(brand) AS (
            (SELECT brand FROM products WHERE brand IS NOT NULL ORDER BY brand LIMIT 1)
            UNION ALL
            SELECT (SELECT p.brand FROM products p WHERE p.brand > b.brand ORDER BY p.brand LIMIT 1)
            FROM b WHERE b.brand IS NOT NULL
        )
        SELECT brand FROM b WHERE brand IS NOT NULL LIMIT :limit
    """
    return [str(value) for value in frame(engine, sql, {"limit": limit})["brand"]]


def warehouses(engine: Engine) -> pd.DataFrame:
    return frame(engine, "SELECT id, code, name FROM warehouses ORDER BY code LIMIT 1000")


def category_id(engine: Engine, path: str | None) -> int | None:
    if not path:
        return None
    with engine.connect() as connection:
        found = connection.execute(text("SELECT id FROM categories WHERE path = :path"), {"path": path}).scalar()
        return int(found) if found is not None else None


# --- overview ----------------------------------------------------------------------------------------------------


def status_counts(engine: Engine, f: Filters) -> pd.DataFrame:
    """Products per status: status, products, avg_completeness (%)."""
    if not _uses_facts(f):
        return _live_status_counts(engine, f)
    return frame(engine, f"""
        WITH {_facts(f)}
        SELECT status, sum(products)::bigint AS products,
               round(sum(completeness_sum) / sum(products), 1)::float8 AS avg_completeness
        FROM facts WHERE warehouse_id = 0 GROUP BY status HAVING sum(products) > 0 ORDER BY status
    """, _params(f))


def _live_status_counts(engine: Engine, f: Filters) -> pd.DataFrame:
    return frame(engine, f"""
        SELECT p.status, count(*) AS products, round(avg(p.completeness), 1)::float8 AS avg_completeness
        FROM products p WHERE {_scope(f)} GROUP BY p.status ORDER BY p.status
    """, _params(f))


def catalog_kpis(engine: Engine, f: Filters) -> dict[str, Any]:
    """products, in_scope (not archived), ready_to_sell, ready_pct, avg_completeness, changed_24h."""
    kpis = _facts_catalog_kpis(engine, f) if _uses_facts(f) else _live_catalog_kpis(engine, f)
    kpis["changed_24h"] = _one(engine, f"""
        SELECT count(*) AS n FROM products p WHERE {_scope(f)} AND p.updated_at >= now() - interval '24 hours'
    """, _params(f))["n"]
    kpis["ready_pct"] = round(100 * kpis["ready_to_sell"] / kpis["in_scope"], 1) if kpis["in_scope"] else 0.0
    return kpis


def _facts_catalog_kpis(engine: Engine, f: Filters) -> dict[str, Any]:
    return _one(engine, f"""
        WITH {_facts(f)}
        SELECT coalesce(sum(products), 0)::bigint AS products,
               coalesce(sum(products) FILTER (WHERE status <> 'archived'), 0)::bigint AS in_scope,
               coalesce(round(sum(completeness_sum) FILTER (WHERE status <> 'archived')
                              / nullif(sum(products) FILTER (WHERE status <> 'archived'), 0), 1), 0)::float8
                   AS avg_completeness,
               coalesce(sum(ready), 0)::bigint AS ready_to_sell
        FROM facts WHERE warehouse_id = 0
    """, _params(f))


def _live_catalog_kpis(engine: Engine, f: Filters) -> dict[str, Any]:
    kpis = _one(engine, f"""
        SELECT count(*) AS products,
               count(*) FILTER (WHERE p.status <> 'archived') AS in_scope,
               coalesce(round(avg(p.completeness) FILTER (WHERE p.status <> 'archived'), 1), 0)::float8
                   AS avg_completeness
        FROM products p WHERE {_scope(f)}
    """, _params(f))
    kpis.update(_one(engine, f"""
        SELECT count(*) AS ready_to_sell FROM products p WHERE {_scope(f)} AND {quality.ready_to_sell_sql("p")}
    """, _params(f)))
    return kpis


def changes_24h(engine: Engine) -> pd.DataFrame:
    """Audit-log events of the last 24 hours: entity, action, events (the whole catalog)."""
    return frame(engine, """
        SELECT entity, action, count(*) AS events FROM audit_log
        WHERE at >= now() - interval '24 hours' GROUP BY entity, action ORDER BY entity, action
    """)


# --- inventory ---------------------------------------------------------------------------------------------------

_PER_PRODUCT_STOCK = """
    SELECT p.id, p.status, p.price, p.currency, p.category_id,
           coalesce(sum(i.on_hand), 0) AS on_hand, coalesce(sum(i.reserved), 0) AS reserved
    FROM products p LEFT JOIN inventory i ON i.product_id = p.id AND {warehouse}
    WHERE {scope} GROUP BY p.id
"""


def stock_kpis(engine: Engine, f: Filters) -> pd.DataFrame:
    """Per currency: active products, stock_outs (active, nothing available), on_hand, reserved, available,
    stock_value (on hand x price). A stock-out is counted in the chosen warehouse when one is chosen."""
    if not _uses_facts(f):
        return _live_stock_kpis(engine, f)
    return frame(engine, f"""
        WITH {_facts(f)}
        SELECT currency, sum(products) FILTER (WHERE warehouse_id = 0 AND status = 'active')::bigint AS active,
               (coalesce(sum(products) FILTER (WHERE warehouse_id = 0 AND status = 'active'), 0)
                - coalesce(sum(in_stock) FILTER (WHERE warehouse_id = :sw AND status = 'active'), 0))::bigint
                   AS stock_outs,
               coalesce(sum(on_hand) FILTER (WHERE warehouse_id = :sw), 0)::bigint AS on_hand,
               coalesce(sum(reserved) FILTER (WHERE warehouse_id = :sw), 0)::bigint AS reserved,
               coalesce(sum(on_hand - reserved) FILTER (WHERE warehouse_id = :sw), 0)::bigint AS available,
               coalesce(round(sum(stock_value) FILTER (WHERE warehouse_id = :sw), 2), 0)::float8 AS stock_value
        FROM facts WHERE warehouse_id IN (0, :sw)
        GROUP BY currency HAVING sum(products) FILTER (WHERE warehouse_id = 0) > 0 ORDER BY stock_value DESC
    """, _params(f, sw=_stock_warehouse(f)))


def _live_stock_kpis(engine: Engine, f: Filters) -> pd.DataFrame:
    per_product = _PER_PRODUCT_STOCK.format(warehouse=_warehouse(f), scope=_scope(f))
    return frame(engine, f"""
        WITH s AS ({per_product})
        SELECT s.currency, count(*) FILTER (WHERE s.status = 'active') AS active,
               count(*) FILTER (WHERE s.status = 'active' AND s.on_hand - s.reserved <= 0) AS stock_outs,
               sum(s.on_hand)::bigint AS on_hand, sum(s.reserved)::bigint AS reserved,
               sum(s.on_hand - s.reserved)::bigint AS available,
               round(sum(s.on_hand * s.price), 2)::float8 AS stock_value
        FROM s GROUP BY s.currency ORDER BY stock_value DESC
    """, _params(f))


def stock_by_category(engine: Engine, f: Filters, limit: int = 50) -> pd.DataFrame:
    """category, active, stock_outs, stock_out_pct, available, reserved: the level below the chosen category."""
    if not _uses_facts(f):
        return _live_stock_by_category(engine, f, limit)
    return frame(engine, f"""
        WITH {_facts(f)}, per_group AS (
            SELECT {_group_key(f)} AS category,
                   coalesce(sum(x.products) FILTER (WHERE x.warehouse_id = 0), 0)::bigint AS active,
                   coalesce(sum(x.in_stock) FILTER (WHERE x.warehouse_id = :sw), 0)::bigint AS in_stock,
                   coalesce(sum(x.on_hand - x.reserved) FILTER (WHERE x.warehouse_id = :sw), 0)::bigint AS available,
                   coalesce(sum(x.reserved) FILTER (WHERE x.warehouse_id = :sw), 0)::bigint AS reserved
            FROM facts x LEFT JOIN categories c ON c.id = x.category_id
            WHERE x.status = 'active' AND x.warehouse_id IN (0, :sw) GROUP BY 1
        )
        SELECT category, active, active - in_stock AS stock_outs,
               round(100.0 * (active - in_stock) / active, 2)::float8 AS stock_out_pct, available, reserved
        FROM per_group WHERE active > 0 ORDER BY stock_out_pct DESC, category LIMIT :limit
    """, _params(f, sw=_stock_warehouse(f), limit=limit))


def _live_stock_by_category(engine: Engine, f: Filters, limit: int = 50) -> pd.DataFrame:
    per_product = _PER_PRODUCT_STOCK.format(warehouse=_warehouse(f), scope=_scope(f) + " AND p.status = 'active'")
    return frame(engine, f"""
        WITH s AS ({per_product})
        SELECT {_group_key(f)} AS category, count(*) AS active,
               count(*) FILTER (WHERE s.on_hand - s.reserved <= 0) AS stock_outs,
               round(100.0 * count(*) FILTER (WHERE s.on_hand - s.reserved <= 0) / count(*), 2)::float8
                   AS stock_out_pct,
               sum(s.on_hand - s.reserved)::bigint AS available, sum(s.reserved)::bigint AS reserved
        FROM s LEFT JOIN categories c ON c.id = s.category_id
        GROUP BY 1 ORDER BY stock_out_pct DESC, category LIMIT :limit
    """, _params(f, limit=limit))


def stock_by_warehouse(engine: Engine, f: Filters) -> pd.DataFrame:
    """Per warehouse: on_hand, reserved, available, stock_value, stock_outs and stock_out_pct of the active
    products in scope (not carried there counts as a stock-out there, as with the warehouse filter)."""
    if not _uses_facts(f):
        return _live_stock_by_warehouse(engine, f)
    return _per_warehouse(engine, f, f"""
        WITH {_facts(f)},
        active AS (SELECT coalesce(sum(products), 0) AS n FROM facts WHERE warehouse_id = 0 AND status = 'active'),
        per_warehouse AS (
            SELECT warehouse_id, sum(on_hand)::bigint AS on_hand, sum(reserved)::bigint AS reserved,
                   round(sum(stock_value), 2)::float8 AS stock_value,
                   sum(in_stock) FILTER (WHERE status = 'active') AS active_available
            FROM facts WHERE warehouse_id <> 0 GROUP BY warehouse_id
        )""")


def _per_warehouse(engine: Engine, f: Filters, ctes: str) -> pd.DataFrame:
    """The per-warehouse table from `active(n)` and `per_warehouse(warehouse_id, on_hand, reserved, stock_value,
    active_available)` CTEs."""
    return frame(engine, f"""
        {ctes}
        SELECT w.code AS warehouse, w.name, coalesce(pw.on_hand, 0) AS on_hand,
               coalesce(pw.reserved, 0) AS reserved, coalesce(pw.on_hand - pw.reserved, 0) AS available,
               coalesce(pw.stock_value, 0) AS stock_value,
               (a.n - coalesce(pw.active_available, 0))::bigint AS stock_outs,
               CASE WHEN a.n > 0 THEN round(100.0 * (a.n - coalesce(pw.active_available, 0)) / a.n, 2)
                    ELSE 0 END::float8 AS stock_out_pct
        FROM warehouses w CROSS JOIN active a LEFT JOIN per_warehouse pw ON pw.warehouse_id = w.id
        WHERE {"w.id = :warehouse" if f.warehouse_id is not None else "TRUE"}
        ORDER BY w.code
    """, _params(f))


def _live_stock_by_warehouse(engine: Engine, f: Filters) -> pd.DataFrame:
    return _per_warehouse(engine, f, f"""
        WITH active AS (SELECT count(*) AS n FROM products p WHERE {_scope(f)} AND p.status = 'active'),
        per_warehouse AS (
            SELECT i.warehouse_id, sum(i.on_hand)::bigint AS on_hand, sum(i.reserved)::bigint AS reserved,
                   round(sum(i.on_hand * p.price), 2)::float8 AS stock_value,
                   count(*) FILTER (WHERE p.status = 'active' AND i.on_hand - i.reserved > 0) AS active_available
            FROM inventory i JOIN products p ON p.id = i.product_id
            WHERE {_scope(f)} AND {_warehouse(f)} GROUP BY i.warehouse_id
        )""")


def low_stock(engine: Engine, f: Filters, threshold: int = 5, limit: int = 200) -> tuple[int, pd.DataFrame]:
    """(how many, the fewest-available first) stock rows of active products with at most `threshold` available.

    One pass: the matching rows are found with the products' narrow covering index (status, category, sku),
    counted, and only the rows shown are joined with the full product row."""
    result = frame(engine, f"""
        WITH low AS MATERIALIZED (
            SELECT i.product_id, i.warehouse_id, i.on_hand, i.reserved, i.on_hand - i.reserved AS available,
                   p.sku, p.category_id
            FROM inventory i JOIN products p ON p.id = i.product_id
            WHERE {_scope(f)} AND {_warehouse(f)} AND p.status = 'active' AND i.on_hand - i.reserved <= :threshold
        ), shown AS (
            SELECT l.*, w.code AS warehouse FROM low l JOIN warehouses w ON w.id = l.warehouse_id
            ORDER BY l.available, l.sku, w.code LIMIT :limit
        )
        SELECT (SELECT count(*) FROM low) AS total, s.sku, p.name, p.brand,
               coalesce(c.path, '{UNCATEGORIZED}') AS category, s.warehouse, s.on_hand, s.reserved, s.available
        FROM (SELECT 1) one LEFT JOIN shown s ON TRUE LEFT JOIN products p ON p.id = s.product_id
        LEFT JOIN categories c ON c.id = s.category_id
        ORDER BY s.available, s.sku, s.warehouse
    """, _params(f, threshold=threshold, limit=min(limit, MAX_ROWS)))
    total = int(result.pop("total").iloc[0])
    return total, result.dropna(subset=["sku"]).reset_index(drop=True)


# --- pricing -----------------------------------------------------------------------------------------------------


QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
"""Every percentile the pricing page shows: the box (5th, 25th, 50th, 75th, 95th) and the histogram's top (99th)."""


@dataclass(frozen=True)
class PriceOverview:
    """The pricing page's distribution figures for every currency, from one pass over the products in scope.

    currencies: currency, products, avg_price, median_price, min_price, max_price (priced products).
    quantiles: currency, category (level below the chosen one), products, mean, p5, q1, median, q3, p95.
    histograms: currency, bucket, lower, upper, products (log-spaced from the lowest price to the 99th
    percentile; the last bucket holds the rest)."""

    currencies: pd.DataFrame
    quantiles: pd.DataFrame
    histograms: pd.DataFrame

    def quantiles_for(self, currency: str, limit: int = 40) -> pd.DataFrame:
        rows = self.quantiles[self.quantiles["currency"] == currency].drop(columns="currency")
        return rows.head(limit).reset_index(drop=True)

    def histogram_for(self, currency: str) -> pd.DataFrame:
        rows = self.histograms[self.histograms["currency"] == currency].drop(columns="currency")
        return rows.reset_index(drop=True)


def price_overview(engine: Engine, f: Filters, buckets: int = 30) -> PriceOverview:
    """Currencies, per-category percentiles and histograms, exact, from a price frequency table.

    Prices repeat (a catalog has far fewer distinct prices than products), so the products in scope are first
    counted per (currency, category, price) in one index-only pass; every percentile, mean and bucket is then
    computed from those counts the way percentile_cont does it (the same float8 interpolation between the
    neighbouring ranks), instead of sorting all prices once per figure."""
    with engine.connect() as connection:
        doc = connection.execute(text(_price_overview_sql(f)), _params(f, buckets=buckets)).scalar_one()
    currencies = pd.DataFrame(doc["currencies"] or [], columns=[
        "currency", "products", "avg_price", "median_price", "min_price", "max_price"])
    quantiles = pd.DataFrame(doc["quantiles"] or [], columns=["currency", "category", "products", "q", "mean"])
    histograms = pd.DataFrame(doc["histograms"] or [], columns=["currency", "bucket", "products", "lo", "hi", "top"])
    return PriceOverview(currencies.astype({"products": "int64"}), _split_quantiles(quantiles),
                         _bucket_edges(histograms, buckets))


def _price_overview_sql(f: Filters) -> str:
    # percentile_cont(q) over N sorted values: pos = q * (N - 1); lo/hi = the values at ranks floor(pos) and
    # ceil(pos) (0-based); result = lo + (pos - floor(pos)) * (hi - lo). The value at rank k is the lowest price
    # whose running count (before + n) passes k.
    positions = [f"({q}::float8 * (total - 1)::float8)" for q in QUANTILES]
    picks = ", ".join(f"min(v) FILTER (WHERE before + n > floor({pos})) AS lo{i}, "
                      f"min(v) FILTER (WHERE before + n > ceil({pos})) AS hi{i}, max({pos}) AS pos{i}"
                      for i, pos in enumerate(positions))
    lerps = ", ".join(f"lo{i} + ((pos{i} - floor(pos{i})) * (hi{i} - lo{i}))" for i in range(len(QUANTILES)))
    return f"""
        WITH groups AS (SELECT c.id, {_group_key(f)} AS category FROM categories c),
        freq AS MATERIALIZED (
            SELECT p.currency, p.category_id, p.price, count(*) AS n
            FROM products p WHERE {_scope(f)} AND p.price > 0 GROUP BY 1, 2, 3
        ), weighted AS (  -- level 0: the whole currency; level 1: one category group of it
            SELECT 0 AS level, currency, '' AS category, price, sum(n) AS n FROM freq GROUP BY 2, 4
            UNION ALL
            SELECT 1, x.currency, coalesce(g.category, '{UNCATEGORIZED}'), x.price, sum(x.n)
            FROM freq x LEFT JOIN groups g ON g.id = x.category_id GROUP BY 2, 3, 4
        ), ranked AS (
            SELECT level, currency, category, price, price::float8 AS v, n,
                   sum(n) OVER (PARTITION BY level, currency, category ORDER BY price) - n AS before,
                   sum(n) OVER (PARTITION BY level, currency, category) AS total
            FROM weighted
        ), picks AS (
            SELECT level, currency, category, sum(n)::bigint AS products, sum(price * n) / sum(n) AS mean,
                   min(price) AS min_price, max(price) AS max_price, {picks}
            FROM ranked GROUP BY 1, 2, 3
        ), stats AS (
            SELECT level, currency, category, products, mean, min_price, max_price, ARRAY[{lerps}] AS q FROM picks
        ), bounds AS (
            SELECT currency, ln(min_price::float8) AS lo,
                   greatest(ln(q[{len(QUANTILES)}]), ln(min_price::float8) + 0.01) AS hi, max_price::float8 AS top
            FROM stats WHERE level = 0
        ), buckets AS (
            SELECT w.currency, least(width_bucket(ln(w.price::float8), b.lo, b.hi, :buckets), :buckets + 1) AS bucket,
                   sum(w.n)::bigint AS products, min(b.lo) AS lo, min(b.hi) AS hi, min(b.top) AS top
            FROM weighted w JOIN bounds b USING (currency) WHERE w.level = 0 GROUP BY 1, 2
        )
        SELECT json_build_object(
            'currencies', (SELECT json_agg(json_build_object(
                'currency', currency, 'products', products, 'avg_price', round(mean, 2)::float8,
                'median_price', round(q[3]::numeric, 2)::float8, 'min_price', min_price::float8,
                'max_price', max_price::float8) ORDER BY products DESC, currency) FROM stats WHERE level = 0),
            'quantiles', (SELECT json_agg(json_build_object(
                'currency', currency, 'category', category, 'products', products, 'q', q[1:5],
                'mean', mean::float8) ORDER BY currency, products DESC, category) FROM stats WHERE level = 1),
            'histograms', (SELECT json_agg(json_build_object(
                'currency', currency, 'bucket', bucket, 'products', products, 'lo', lo, 'hi', hi, 'top', top)
                ORDER BY currency, bucket) FROM buckets))
    """


def _split_quantiles(df: pd.DataFrame) -> pd.DataFrame:
    names = ["p5", "q1", "median", "q3", "p95"]
    quantiles = pd.DataFrame(df.pop("q").tolist() if len(df) else [], columns=names, index=df.index)
    return pd.concat([df, quantiles], axis=1)


def _bucket_edges(df: pd.DataFrame, buckets: int) -> pd.DataFrame:
    import numpy as np

    if df.empty:
        return pd.DataFrame(columns=["currency", "bucket", "lower", "upper", "products"])
    step = (df["hi"] - df["lo"]) / buckets
    df["lower"] = np.exp(df["lo"] + (df["bucket"] - 1) * step).round(2)
    df["upper"] = np.where(df["bucket"] > buckets, df["top"], np.exp(df["lo"] + df["bucket"] * step)).round(2)
    return df[["currency", "bucket", "lower", "upper", "products"]]


def _history_join(f: Filters) -> str:
    return "JOIN products p ON p.id = h.product_id" if _scoped(f) else ""


_PRICE_CHANGE = "h.old_price > 0 AND h.old_currency = h.currency"


def price_changes_daily(engine: Engine, f: Filters, currency: str) -> pd.DataFrame:
    """day, changes, increases, decreases, avg_change_pct of price changes in the date range."""
    return frame(engine, f"""
        SELECT (h.changed_at AT TIME ZONE 'UTC')::date AS day, count(*) AS changes,
               count(*) FILTER (WHERE h.new_price > h.old_price) AS increases,
               count(*) FILTER (WHERE h.new_price < h.old_price) AS decreases,
               round(avg(100 * (h.new_price - h.old_price) / h.old_price), 2)::float8 AS avg_change_pct
        FROM price_history h {_history_join(f)}
        WHERE {_PRICE_CHANGE} AND h.currency = :currency AND {_window(f, "h.changed_at")}
          AND {_scope(f) if _scoped(f) else "TRUE"}
        GROUP BY 1 ORDER BY 1
    """, _params(f, currency=currency))


def biggest_movers(engine: Engine, f: Filters, currency: str, limit: int = 20) -> pd.DataFrame:
    """Products whose price moved most (first old price -> last new price in the date range).

    The movers are ranked on what the products' narrow covering index holds (sku, category), so only the rows
    shown read the full product row."""
    return frame(engine, f"""
        WITH moves AS (
            SELECT h.product_id, count(*) AS changes,
                   (array_agg(h.old_price ORDER BY h.changed_at, h.id))[1] AS price_before,
                   (array_agg(h.new_price ORDER BY h.changed_at DESC, h.id DESC))[1] AS price_after,
                   max(h.changed_at) AS last_change
            FROM price_history h
            WHERE {_PRICE_CHANGE} AND h.currency = :currency AND {_window(f, "h.changed_at")}
            GROUP BY h.product_id
        ), top AS (
            SELECT m.*, p.sku, p.category_id, abs(m.price_after - m.price_before) / m.price_before AS moved
            FROM moves m JOIN products p ON p.id = m.product_id
            WHERE {_scope(f)}
            ORDER BY moved DESC, p.sku LIMIT :limit
        )
        SELECT t.sku, p.name, p.brand, coalesce(c.path, '{UNCATEGORIZED}') AS category,
               t.price_before::float8 AS price_before, t.price_after::float8 AS price_after,
               round(100 * (t.price_after - t.price_before) / t.price_before, 2)::float8 AS change_pct,
               t.changes, t.last_change
        FROM top t JOIN products p ON p.id = t.product_id LEFT JOIN categories c ON c.id = t.category_id
        ORDER BY t.moved DESC, t.sku
    """, _params(f, currency=currency, limit=min(limit, MAX_ROWS)))


# --- catalog quality ---------------------------------------------------------------------------------------------


def quality_kpis(engine: Engine, f: Filters) -> dict[str, Any]:
    """products (not archived), avg_completeness, complete, complete_pct, incomplete."""
    kpis = _facts_quality_kpis(engine, f) if _uses_facts(f) else _live_quality_kpis(engine, f)
    kpis["incomplete"] = kpis["products"] - kpis["complete"]
    kpis["complete_pct"] = round(100 * kpis["complete"] / kpis["products"], 1) if kpis["products"] else 0.0
    return kpis


def _facts_quality_kpis(engine: Engine, f: Filters) -> dict[str, Any]:
    return _one(engine, f"""
        WITH {_facts(f)}
        SELECT coalesce(sum(products), 0)::bigint AS products,
               coalesce(round(sum(completeness_sum) / nullif(sum(products), 0), 1), 0)::float8 AS avg_completeness,
               coalesce(sum(complete), 0)::bigint AS complete
        FROM facts WHERE warehouse_id = 0 AND status <> 'archived'
    """, _params(f))


def _live_quality_kpis(engine: Engine, f: Filters) -> dict[str, Any]:
    return _one(engine, f"""
        SELECT count(*) AS products, coalesce(round(avg(p.completeness), 1), 0)::float8 AS avg_completeness,
               count(*) FILTER (WHERE p.completeness = 100) AS complete
        FROM products p WHERE {_scope(f)} AND p.status <> 'archived'
    """, _params(f))


def _band_sql(column: str) -> str:
    low, mid, high, top, full = COMPLETENESS_BANDS
    return (f"CASE WHEN {column} = 100 THEN '{full}' WHEN {column} >= 90 THEN '{top}' "
            f"WHEN {column} >= 75 THEN '{high}' WHEN {column} >= 50 THEN '{mid}' ELSE '{low}' END")


def completeness_by_category(engine: Engine, f: Filters) -> pd.DataFrame:
    """Long format for the heatmap: category, band, products, plus each category's avg_completeness."""
    if not _uses_facts(f):
        return _live_completeness_by_category(engine, f)
    low, mid, high, top, full = COMPLETENESS_BANDS
    return frame(engine, f"""
        WITH {_facts(f)}, per_group AS (
            SELECT {_group_key(f)} AS category, sum(x.products) AS products,
                   sum(x.completeness_sum) AS completeness_sum, sum(x.complete) AS complete,
                   sum(x.band_90) AS band_90, sum(x.band_75) AS band_75, sum(x.band_50) AS band_50
            FROM facts x LEFT JOIN categories c ON c.id = x.category_id
            WHERE x.warehouse_id = 0 AND x.status <> 'archived' GROUP BY 1 HAVING sum(x.products) > 0
        )
        SELECT g.category, b.band, b.products::bigint AS products,
               round(g.completeness_sum / g.products, 1)::float8 AS avg_completeness
        FROM per_group g CROSS JOIN LATERAL (VALUES
            ('{low}', g.products - g.complete - g.band_90 - g.band_75 - g.band_50), ('{mid}', g.band_50),
            ('{high}', g.band_75), ('{top}', g.band_90), ('{full}', g.complete)) AS b(band, products)
        WHERE b.products > 0 ORDER BY 1, 2
    """, _params(f))


def _live_completeness_by_category(engine: Engine, f: Filters) -> pd.DataFrame:
    return frame(engine, f"""
        WITH per_leaf AS (
            SELECT p.category_id, {_band_sql("p.completeness")} AS band, count(*) AS products,
                   sum(p.completeness) AS completeness_sum
            FROM products p WHERE {_scope(f)} AND p.status <> 'archived' GROUP BY 1, 2
        )
        SELECT {_group_key(f)} AS category, band, sum(products)::bigint AS products,
               round(sum(sum(completeness_sum)) OVER w / sum(sum(products)) OVER w, 1)::float8 AS avg_completeness
        FROM per_leaf LEFT JOIN categories c ON c.id = per_leaf.category_id
        GROUP BY 1, 2 WINDOW w AS (PARTITION BY {_group_key(f)}) ORDER BY 1, 2
    """, _params(f))


def missing_fields(engine: Engine, f: Filters, limit: int = 25) -> pd.DataFrame:
    """field, products missing it, pct of the products in scope (not archived)."""
    total = (f"SELECT coalesce(sum(products), 0)::bigint AS n FROM catalog_facts "
             f"WHERE {_facts_scope(f)} AND warehouse_id = 0 AND status <> 'archived'" if _uses_facts(f)
             else f"SELECT count(*) AS n FROM products p WHERE {_scope(f)} AND p.status <> 'archived'")
    return frame(engine, f"""
        WITH total AS ({total})
        SELECT m.field, count(*) AS products, round(100.0 * count(*) / max(total.n), 2)::float8 AS pct
        FROM products p CROSS JOIN LATERAL unnest(p.missing_fields) AS m(field) CROSS JOIN total
        WHERE {_scope(f)} AND p.status <> 'archived' AND p.completeness < 100
        GROUP BY m.field ORDER BY products DESC, m.field LIMIT :limit
    """, _params(f, limit=limit))


@dataclass(frozen=True)
class WorstFilter:
    """Narrowing of the worst-records list: statuses, a completeness ceiling, one missing field."""

    statuses: tuple[str, ...] = ("draft", "active")
    max_completeness: int = 99
    missing_field: str | None = None


def worst_records(engine: Engine, f: Filters, w: WorstFilter, limit: int = 100) -> pd.DataFrame:
    """The least complete products first (through the completeness index), with what each is missing."""
    field_condition = ":field = ANY(p.missing_fields)" if w.missing_field else "TRUE"
    return with_thumbnail_urls(frame(engine, f"""
        SELECT p.id, {thumbnail_key_sql("p")} AS thumbnail, p.sku, p.name, p.brand,
               coalesce(c.path, '{UNCATEGORIZED}') AS category, p.status,
               p.completeness, array_to_string(p.missing_fields, ', ') AS missing_fields, p.updated_at
        FROM products p LEFT JOIN categories c ON c.id = p.category_id
        WHERE {_scope(f)} AND p.status = ANY(:statuses) AND p.completeness <= :max_completeness
          AND {field_condition}
        ORDER BY p.completeness, p.id LIMIT :limit
    """, _params(f, statuses=list(w.statuses), max_completeness=w.max_completeness, field=w.missing_field,
                 limit=min(limit, MAX_ROWS))))


def duplicates(engine: Engine, f: Filters, limit: int = 50) -> tuple[int, pd.DataFrame]:
    """Likely duplicate groups (db.quality.find_duplicates) flattened to one row per product."""
    page = quality.find_duplicates(engine, limit=limit, category_id=category_id(engine, f.category), brand=f.brand)
    rows = [{"group": number, "reason": group.reason.replace("_", " "), "key": group.key, "id": product.id,
             "sku": product.sku, "name": product.name, "brand": product.brand}
            for number, group in enumerate(page.groups, 1) for product in group.products]
    columns = ["group", "reason", "key", "id", "sku", "name", "brand"]
    return page.total, pd.DataFrame(rows, columns=columns)


def quality_trend(engine: Engine, f: Filters) -> pd.DataFrame:
    """Daily snapshots of the chosen category (or the whole catalog): taken_on, products, avg_completeness,
    complete_pct, ready_to_sell_pct."""
    scope = category_id(engine, f.category) if f.category else quality.CATALOG_WIDE
    return frame(engine, f"""
        SELECT taken_on, products, avg_completeness::float8 AS avg_completeness,
               complete_pct::float8 AS complete_pct, ready_to_sell_pct::float8 AS ready_to_sell_pct
        FROM quality_snapshots WHERE category_id = :scope AND {_window(f, "taken_on", is_date=True)}
        ORDER BY taken_on LIMIT 3660
    """, _params(f, scope=scope))


# --- search insights ---------------------------------------------------------------------------------------------


def search_kpis(engine: Engine, f: Filters) -> dict[str, Any]:
    """searches, zero_results, zero_pct, p50_ms, p95_ms, cached_pct over the date range."""
    kpis = _one(engine, f"""
        SELECT count(*) AS searches, count(*) FILTER (WHERE result_count = 0) AS zero_results,
               coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms), 0)::float8 AS p50_ms,
               coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms), 0)::float8 AS p95_ms,
               count(*) FILTER (WHERE cached) AS cached
        FROM search_queries WHERE {_window(f, "created_at")}
    """, _params(f))
    searches = kpis["searches"]
    kpis["zero_pct"] = round(100 * kpis["zero_results"] / searches, 1) if searches else 0.0
    kpis["cached_pct"] = round(100 * kpis["cached"] / searches, 1) if searches else 0.0
    return kpis


def top_queries(engine: Engine, f: Filters, zero_results_only: bool = False, limit: int = 25) -> pd.DataFrame:
    """query (trimmed, lower-cased), searches, avg_results, p50 latency_ms, last_searched."""
    zero = "result_count = 0" if zero_results_only else "TRUE"
    return frame(engine, f"""
        SELECT lower(btrim(query)) AS query, count(*) AS searches, round(avg(result_count), 1)::float8 AS avg_results,
               round((percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms))::numeric, 1)::float8 AS latency_ms,
               max(created_at) AS last_searched
        FROM search_queries WHERE {_window(f, "created_at")} AND {zero}
        GROUP BY 1 ORDER BY searches DESC, query LIMIT :limit
    """, _params(f, limit=min(limit, MAX_ROWS)))


def searches_daily(engine: Engine, f: Filters) -> pd.DataFrame:
    """day, searches, zero_results."""
    return frame(engine, f"""
        SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS searches,
               count(*) FILTER (WHERE result_count = 0) AS zero_results
        FROM search_queries WHERE {_window(f, "created_at")} GROUP BY 1 ORDER BY 1
    """, _params(f))
