"""Dashboard analytics for the Catalog quality page: completeness KPIs and bands, missing fields, worst records,
duplicates and the snapshot trend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from db.analytics.common import (
    MAX_ROWS,
    UNCATEGORIZED,
    Filters,
    _facts,
    _facts_scope,
    _group_key,
    _one,
    _params,
    _scope,
    _uses_facts,
    _window,
    frame,
)
from db.analytics.options import category_id
from db.media_reports import thumbnail_key_sql, with_thumbnail_urls
from db.quality.duplicates import find_duplicates
from db.quality.snapshots import CATALOG_WIDE

COMPLETENESS_BANDS = ("0-49", "50-74", "75-89", "90-99", "100")


def quality_kpis(engine: Engine, f: Filters) -> dict[str, Any]:
    """not_archived (products), avg_completeness, complete, complete_pct, incomplete."""
    kpis = _facts_quality_kpis(engine, f) if _uses_facts(f) else _live_quality_kpis(engine, f)
    kpis["incomplete"] = kpis["not_archived"] - kpis["complete"]
    kpis["complete_pct"] = round(100 * kpis["complete"] / kpis["not_archived"], 1) if kpis["not_archived"] else 0.0
    return kpis


def _facts_quality_kpis(engine: Engine, f: Filters) -> dict[str, Any]:
    return _one(engine, f"""
        WITH {_facts(f)}
        SELECT coalesce(sum(products), 0)::bigint AS not_archived,
               coalesce(round(sum(completeness_sum) / nullif(sum(products), 0), 1), 0)::float8 AS avg_completeness,
               coalesce(sum(complete), 0)::bigint AS complete
        FROM facts WHERE warehouse_id = 0 AND status <> 'archived'
    """, _params(f))


def _live_quality_kpis(engine: Engine, f: Filters) -> dict[str, Any]:
    return _one(engine, f"""
        SELECT count(*) AS not_archived, coalesce(round(avg(p.completeness), 1), 0)::float8 AS avg_completeness,
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
    page = find_duplicates(engine, limit=limit, category_id=category_id(engine, f.category), brand=f.brand)
    rows = [{"group": number, "reason": group.reason.replace("_", " "), "key": group.key, "id": product.id,
             "sku": product.sku, "name": product.name, "brand": product.brand}
            for number, group in enumerate(page.groups, 1) for product in group.products]
    columns = ["group", "reason", "key", "id", "sku", "name", "brand"]
    return page.total, pd.DataFrame(rows, columns=columns)


def quality_trend(engine: Engine, f: Filters) -> pd.DataFrame:
    """Daily snapshots of the chosen category (or the whole catalog): taken_on, products, avg_completeness,
    complete_pct, ready_to_sell_pct."""
    scope = category_id(engine, f.category) if f.category else CATALOG_WIDE
    return frame(engine, f"""
        SELECT taken_on, products, avg_completeness::float8 AS avg_completeness,
               complete_pct::float8 AS complete_pct, ready_to_sell_pct::float8 AS ready_to_sell_pct
        FROM quality_snapshots WHERE category_id = :scope AND {_window(f, "taken_on", is_date=True)}
        ORDER BY taken_on LIMIT 3660
    """, _params(f, scope=scope))
