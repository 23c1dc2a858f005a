"""Dashboard analytics for the Inventory page: stock KPIs, stock-outs per category and warehouse, low stock."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from db.analytics.common import (
    MAX_ROWS,
    UNCATEGORIZED,
    Filters,
    _facts,
    _group_key,
    _params,
    _scope,
    _stock_warehouse,
    _uses_facts,
    _warehouse,
    frame,
)

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
