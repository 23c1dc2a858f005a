"""Dashboard analytics for the Overview page: products per status, catalog KPIs, the last day's changes."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine

from db.analytics.common import Filters, _facts, _one, _params, _scope, _uses_facts, frame
from db.quality.ready import ready_to_sell_sql


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
    """products, not_archived, ready_to_sell, ready_to_sell_pct, avg_completeness, changed_24h."""
    kpis = _facts_catalog_kpis(engine, f) if _uses_facts(f) else _live_catalog_kpis(engine, f)
    kpis["changed_24h"] = _one(engine, f"""
        SELECT count(*) AS n FROM products p WHERE {_scope(f)} AND p.updated_at >= now() - interval '24 hours'
    """, _params(f))["n"]
    not_archived = kpis["not_archived"]
    kpis["ready_to_sell_pct"] = round(100 * kpis["ready_to_sell"] / not_archived, 1) if not_archived else 0.0
    return kpis


def _facts_catalog_kpis(engine: Engine, f: Filters) -> dict[str, Any]:
    return _one(engine, f"""
        WITH {_facts(f)}
        SELECT coalesce(sum(products), 0)::bigint AS products,
               coalesce(sum(products) FILTER (WHERE status <> 'archived'), 0)::bigint AS not_archived,
               coalesce(round(sum(completeness_sum) FILTER (WHERE status <> 'archived')
                              / nullif(sum(products) FILTER (WHERE status <> 'archived'), 0), 1), 0)::float8
                   AS avg_completeness,
               coalesce(sum(ready), 0)::bigint AS ready_to_sell
        FROM facts WHERE warehouse_id = 0
    """, _params(f))


def _live_catalog_kpis(engine: Engine, f: Filters) -> dict[str, Any]:
    kpis = _one(engine, f"""
        SELECT count(*) AS products,
               count(*) FILTER (WHERE p.status <> 'archived') AS not_archived,
               coalesce(round(avg(p.completeness) FILTER (WHERE p.status <> 'archived'), 1), 0)::float8
                   AS avg_completeness
        FROM products p WHERE {_scope(f)}
    """, _params(f))
    kpis.update(_one(engine, f"""
        SELECT count(*) AS ready_to_sell FROM products p WHERE {_scope(f)} AND {ready_to_sell_sql("p")}
    """, _params(f)))
    return kpis


def changes_24h(engine: Engine) -> pd.DataFrame:
    """Audit-log events of the last 24 hours: entity, action, events (the whole catalog)."""
    return frame(engine, """
        SELECT entity, action, count(*) AS events FROM audit_log
        WHERE at >= now() - interval '24 hours' GROUP BY entity, action ORDER BY entity, action
    """)
