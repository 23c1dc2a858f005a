"""Per-model (product group) reads: completeness per model for `GET /quality/groups`, and the dashboard's model
views (a model's variants with their completeness, their stock per warehouse).

A variant's inherited values are copied into its product row, so its `completeness` and `missing_fields`
already count them: nothing here re-scores. Archived variants are out of scope, as in every quality figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from db.analytics.common import MAX_ROWS, UNCATEGORIZED, Filters, frame

Queryable = Connection | Session


def _escape_like(value: str) -> str:
    """`value` matched literally inside a LIKE pattern ("a_b" must not match "axb")."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_prefix(path: str) -> str:
    """`path` as a LIKE pattern for its descendants."""
    return _escape_like(path) + "/%"


_IN_SUBTREE = "IN (SELECT id FROM categories WHERE path = :path OR path LIKE :path_prefix)"


# --- GET /quality/groups -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupQualityFilter:
    """`category_path` covers the model's category subtree, `brand` is the model's (case-insensitive);
    `incomplete_only` leaves out models whose variants are all complete (and models without variants);
    `search` keeps the models whose code or name contains it (case-insensitive)."""

    category_path: str | None = None
    brand: str | None = None
    incomplete_only: bool = False
    search: str | None = None


@dataclass(frozen=True)
class IncompleteVariant:
    id: int
    sku: str
    completeness: int
    missing_fields: list[str]
    axis_values: dict[str, Any]


@dataclass(frozen=True)
class GroupQuality:
    id: int
    code: str
    name: str
    brand: str | None
    category_id: int | None
    category_name: str | None
    category_path: str | None
    variant_count: int
    complete_variants: int
    incomplete_variants: list[IncompleteVariant]

    @property
    def complete_pct(self) -> Decimal | None:
        """Share of complete variants (%, 2 decimals, rounded like the summary); None without variants."""
        if not self.variant_count:
            return None
        return (Decimal(100 * self.complete_variants) / self.variant_count).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP)


def _scope_sql(category_path: str | None, brand: str | None, search: str | None = None) -> str:
    """Conditions on a product_groups alias `g`."""
    parts = ["TRUE"]
    if category_path is not None:
        parts.append(f"g.category_id {_IN_SUBTREE}")
    if brand is not None:
        parts.append("lower(g.brand) = lower(:brand)")
    if search:
        parts.append("(g.code ILIKE :search OR g.name ILIKE :search)")
    return " AND ".join(parts)


def _scope_params(category_path: str | None, brand: str | None, search: str | None = None) -> dict[str, Any]:
    contains = f"%{_escape_like(search)}%" if search else None
    return {"path": category_path, "path_prefix": like_prefix(category_path) if category_path is not None else None,
            "brand": brand, "search": contains}


def _counted_sql(filters: GroupQualityFilter) -> str:
    """A `counted` CTE: each model in scope with its non-archived variants and how many are complete."""
    having = "HAVING count(p.id) FILTER (WHERE p.completeness < 100) > 0" if filters.incomplete_only else ""
    return f"""counted AS (
        SELECT g.id, count(p.id) AS variants, count(p.id) FILTER (WHERE p.completeness = 100) AS complete
        FROM product_groups g LEFT JOIN products p ON p.group_id = g.id AND p.status <> 'archived'
        WHERE {_scope_sql(filters.category_path, filters.brand, filters.search)} GROUP BY g.id {having}
    )"""


def list_group_quality(connection: Queryable, filters: GroupQualityFilter, offset: int, limit: int
                       ) -> tuple[list[GroupQuality], int]:
    """Models least complete first (share of complete variants, then most incomplete variants, then id; models
    without variants last), each with its incomplete variants, and how many models match in all."""
    counted = _counted_sql(filters)
    params = _scope_params(filters.category_path, filters.brand, filters.search)
    total = connection.execute(text(f"WITH {counted} SELECT count(*) FROM counted"), params).scalar_one()
    rows = connection.execute(text(f"""
        WITH {counted}
        SELECT g.id, g.code, g.name, g.brand, g.category_id, c.name, c.path, g.axes, n.variants, n.complete
        FROM counted n JOIN product_groups g ON g.id = n.id LEFT JOIN categories c ON c.id = g.category_id
        ORDER BY n.complete::numeric / NULLIF(n.variants, 0) NULLS LAST, n.variants - n.complete DESC, g.id
        OFFSET :offset LIMIT :limit
    """), {**params, "offset": offset, "limit": limit}).all()
    incomplete = _incomplete_variants(connection, {row[0]: list(row[7]) for row in rows})
    return [GroupQuality(id=row[0], code=row[1], name=row[2], brand=row[3], category_id=row[4], category_name=row[5],
                         category_path=row[6], variant_count=int(row[8]), complete_variants=int(row[9]),
                         incomplete_variants=incomplete.get(row[0], []))
            for row in rows], int(total)


def _incomplete_variants(connection: Queryable, axes: dict[int, list[str]]) -> dict[int, list[IncompleteVariant]]:
    """The incomplete, non-archived variants of the given models, least complete first, by model."""
    if not axes:
        return {}
    found: dict[int, list[IncompleteVariant]] = {}
    for group_id, product_id, sku, completeness, missing, attributes in connection.execute(text("""
            SELECT p.group_id, p.id, p.sku, p.completeness, p.missing_fields, p.attributes FROM products p
            WHERE p.group_id = ANY(:ids) AND p.status <> 'archived' AND p.completeness < 100
            ORDER BY p.group_id, p.completeness, p.id"""), {"ids": sorted(axes)}):
        values = {axis: (attributes or {}).get(axis) for axis in axes[group_id]}
        found.setdefault(group_id, []).append(
            IncompleteVariant(int(product_id), sku, int(completeness), list(missing), values))
    return found


# --- the dashboard's model views ---------------------------------------------------------------------------------


def _dashboard_scope(f: Filters, search: str | None) -> tuple[str, dict[str, Any]]:
    """The sidebar's category (subtree) and brand filters, applied to the model's own fields, and the search."""
    return _scope_sql(f.category, f.brand, search), _scope_params(f.category, f.brand, search)


def models_quality(engine: Engine, f: Filters, incomplete_only: bool = False, search: str | None = None,
                   limit: int = 200) -> pd.DataFrame:
    """Models least complete first, as `GET /quality/groups` lists them: id, code, name, brand, category,
    variants, complete_variants, complete_pct (null without variants). `search`: in the code or name."""
    filters = GroupQualityFilter(category_path=f.category, brand=f.brand, incomplete_only=incomplete_only,
                                 search=search)
    with engine.connect() as connection:
        groups, _ = list_group_quality(connection, filters, 0, min(limit, MAX_ROWS))
    rows = [{"id": g.id, "code": g.code, "name": g.name, "brand": g.brand,
             "category": g.category_path or UNCATEGORIZED, "variants": g.variant_count,
             "complete_variants": g.complete_variants,
             "complete_pct": float(g.complete_pct) if g.complete_pct is not None else None} for g in groups]
    columns = ["id", "code", "name", "brand", "category", "variants", "complete_variants", "complete_pct"]
    return pd.DataFrame(rows, columns=columns)


def models_stock(engine: Engine, f: Filters, search: str | None = None, limit: int = 200) -> pd.DataFrame:
    """Models with the most out-of-stock variants first: id, code, name, brand, category, variants,
    out_of_stock (variants with nothing available in the chosen warehouse, or in all), available (units).
    `search`: in the code or name."""
    scope, params = _dashboard_scope(f, search)
    warehouse = "i.warehouse_id = :warehouse" if f.warehouse_id is not None else "TRUE"
    return frame(engine, f"""
        WITH variant_stock AS (
            SELECT p.group_id, p.id,
                   (SELECT coalesce(sum(i.on_hand - i.reserved), 0) FROM inventory i
                    WHERE i.product_id = p.id AND {warehouse}) AS available
            FROM products p JOIN product_groups g ON g.id = p.group_id
            WHERE {scope} AND p.status <> 'archived'
        )
        SELECT g.id, g.code, g.name, g.brand, coalesce(c.path, '{UNCATEGORIZED}') AS category,
               count(v.id) AS variants, count(v.id) FILTER (WHERE v.available <= 0) AS out_of_stock,
               coalesce(sum(v.available), 0)::bigint AS available
        FROM product_groups g LEFT JOIN variant_stock v ON v.group_id = g.id
        LEFT JOIN categories c ON c.id = g.category_id
        WHERE {scope} GROUP BY g.id, c.path
        ORDER BY count(v.id) FILTER (WHERE v.available <= 0) DESC, g.code, g.id
        LIMIT :limit
    """, {**params, "warehouse": f.warehouse_id, "limit": min(limit, MAX_ROWS)})


def group_axes(engine: Engine, group_id: int) -> list[str]:
    """The model's axes in order (empty when there is no such model)."""
    with engine.connect() as connection:
        axes = connection.execute(text("SELECT axes FROM product_groups WHERE id = :id"), {"id": group_id}).scalar()
    return list(axes or [])


def _with_axis_columns(df: pd.DataFrame, axes: Sequence[str], after: str) -> pd.DataFrame:
    """Spread the `axis_values` column (one list per row, in `axes` order) into one column per axis after
    `after`; an axis named like another column is shown as "<axis> (axis)"."""
    values = df.pop("axis_values")
    position = list(df.columns).index(after) + 1
    for offset, axis in enumerate(axes):
        name = axis if axis not in df.columns else f"{axis} (axis)"
        df.insert(position + offset, name, [row[offset] if row is not None else None for row in values])
    return df


_AXIS_VALUES = ("ARRAY(SELECT p.attributes ->> a.axis FROM unnest(g.axes) WITH ORDINALITY AS a(axis, n) "
                "ORDER BY a.n) AS axis_values")


def group_variants_quality(engine: Engine, group_id: int) -> pd.DataFrame:
    """A model's non-archived variants least complete first: id, sku, one column per axis, status, completeness,
    missing_fields (comma-separated), inherited (the fields taken from the model)."""
    df = frame(engine, f"""
        SELECT p.id, p.sku, {_AXIS_VALUES}, p.status, p.completeness,
               array_to_string(p.missing_fields, ', ') AS missing_fields,
               array_to_string(p.inherited, ', ') AS inherited
        FROM products p JOIN product_groups g ON g.id = p.group_id
        WHERE p.group_id = :group AND p.status <> 'archived'
        ORDER BY p.completeness, p.id LIMIT :limit
    """, {"group": group_id, "limit": MAX_ROWS})
    return _with_axis_columns(df, group_axes(engine, group_id), "sku")


def group_variants_stock(engine: Engine, group_id: int, warehouse_id: int | None = None) -> pd.DataFrame:
    """Stock of a model's non-archived variants in every warehouse (or the chosen one), a row per variant and
    warehouse, zero where it has no stock row: sku, one column per axis, status, warehouse, on_hand, reserved,
    available. Ordered by sku, then warehouse code."""
    df = frame(engine, f"""
        SELECT p.sku, {_AXIS_VALUES}, p.status, w.code AS warehouse,
               coalesce(i.on_hand, 0) AS on_hand, coalesce(i.reserved, 0) AS reserved,
               coalesce(i.on_hand - i.reserved, 0) AS available
        FROM products p JOIN product_groups g ON g.id = p.group_id
        CROSS JOIN warehouses w
        LEFT JOIN inventory i ON i.product_id = p.id AND i.warehouse_id = w.id
        WHERE p.group_id = :group AND p.status <> 'archived'
          AND (CAST(:warehouse AS bigint) IS NULL OR w.id = :warehouse)
        ORDER BY p.sku, w.code LIMIT :limit
    """, {"group": group_id, "warehouse": warehouse_id, "limit": MAX_ROWS})
    return _with_axis_columns(df, group_axes(engine, group_id), "sku")
