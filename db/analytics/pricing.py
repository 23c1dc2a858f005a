"""Dashboard analytics for the Pricing page: price distributions per currency and category, price changes."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, text

from db.analytics.common import (
    MAX_ROWS,
    UNCATEGORIZED,
    Filters,
    _group_key,
    _params,
    _scope,
    _scoped,
    _window,
    frame,
)

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
