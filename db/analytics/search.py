"""Dashboard analytics for the Search insights page: search KPIs, top queries, searches per day."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine

from db.analytics.common import MAX_ROWS, Filters, _one, _params, _window, frame


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
    """query (trimmed, lower-cased), searches, avg_results, p50_ms (median latency), last_searched."""
    zero = "result_count = 0" if zero_results_only else "TRUE"
    return frame(engine, f"""
        SELECT lower(btrim(query)) AS query, count(*) AS searches, round(avg(result_count), 1)::float8 AS avg_results,
               round((percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms))::numeric, 1)::float8 AS p50_ms,
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
