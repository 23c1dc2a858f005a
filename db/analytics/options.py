"""Dashboard analytics: the filter options (categories, brands, warehouses) and the empty-catalog check."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, text

from db.analytics.common import frame


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
