"""Dashboard analytics, one module per dashboard page (overview, inventory, pricing, quality, search) over the
building blocks of `common` and the filter options of `options`; this re-exports what `dashboard/data.py` calls."""

from db.analytics.common import compact_facts
from db.analytics.inventory import low_stock, stock_by_category, stock_by_warehouse, stock_kpis
from db.analytics.options import brands, categories, has_products, warehouses
from db.analytics.overview import catalog_kpis, changes_24h, status_counts
from db.analytics.pricing import PriceOverview, biggest_movers, price_changes_daily, price_overview
from db.analytics.quality import (
    completeness_by_category,
    duplicates,
    missing_fields,
    quality_kpis,
    quality_trend,
    worst_records,
)
from db.analytics.search import search_kpis, searches_daily, top_queries

__all__ = [
    "PriceOverview", "biggest_movers", "brands", "catalog_kpis", "categories", "changes_24h", "compact_facts",
    "completeness_by_category", "duplicates", "has_products", "low_stock", "missing_fields", "price_changes_daily",
    "price_overview", "quality_kpis", "quality_trend", "search_kpis", "searches_daily", "status_counts",
    "stock_by_category", "stock_by_warehouse", "stock_kpis", "top_queries", "warehouses", "worst_records",
]
