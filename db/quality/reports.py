"""Report queries for the quality API (api/quality/): products by completeness, and stats per category subtree.

Archived products are out of scope unless a status asks for them, as in the snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text

from db.quality.engine import CategoryNode, Queryable
from db.quality.ready import ready_to_sell_sql


@dataclass(frozen=True)
class ProductQualityFilter:
    """`category_path` covers the subtree; `missing` means missing every listed field; `status` None: not archived."""

    max_completeness: int | None = None
    category_path: str | None = None
    missing: tuple[str, ...] = ()
    brand: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class ProductQuality:
    id: int
    sku: str
    name: str
    brand: str | None
    category_id: int | None
    category_name: str | None
    category_path: str | None
    status: str
    completeness: int
    missing_fields: list[str]
    ready_to_sell: bool


def _quality_conditions(filters: ProductQualityFilter) -> tuple[str, dict[str, Any]]:
    parts = ["p.status = :status" if filters.status is not None else "p.status <> 'archived'"]
    params: dict[str, Any] = {"status": filters.status}
    if filters.max_completeness is not None:
        parts.append("p.completeness <= :max_completeness")
        params["max_completeness"] = filters.max_completeness
    if filters.category_path is not None:
        parts.append("p.category_id IN (SELECT id FROM categories WHERE path = :path OR path LIKE :path || '/%')")
        params["path"] = filters.category_path
    if filters.missing:
        parts.append("p.missing_fields @> CAST(:missing AS text[])")  # products_missing_fields_gin
        params["missing"] = list(filters.missing)
    if filters.brand is not None:
        parts.append("lower(p.brand) = lower(:brand)")
        params["brand"] = filters.brand
    return " AND ".join(parts), params


def list_product_quality(connection: Queryable, filters: ProductQualityFilter, offset: int, limit: int
                         ) -> tuple[list[ProductQuality], int]:
    """Matching products worst first (completeness, then id) and how many match in all."""
    where, params = _quality_conditions(filters)
    total = connection.execute(text(f"SELECT count(*) FROM products p WHERE {where}"), params).scalar_one()
    rows = connection.execute(text(f"""
        SELECT p.id, p.sku, p.name, p.brand, p.category_id, c.name, c.path, p.status, p.completeness,
               p.missing_fields, {ready_to_sell_sql("p")}
        FROM products p LEFT JOIN categories c ON c.id = p.category_id
        WHERE {where} ORDER BY p.completeness, p.id OFFSET :offset LIMIT :limit
    """), {**params, "offset": offset, "limit": limit}).all()
    return [_product_quality(row) for row in rows], int(total)


def _product_quality(row: Any) -> ProductQuality:
    return ProductQuality(id=row[0], sku=row[1], name=row[2], brand=row[3], category_id=row[4], category_name=row[5],
                          category_path=row[6], status=row[7], completeness=row[8], missing_fields=list(row[9]),
                          ready_to_sell=bool(row[10]))


@dataclass
class QualityStats:
    """Counts over a set of products; the percentages are derived, rounded like the snapshots."""

    products: int = 0
    completeness_sum: int = 0
    complete: int = 0
    ready: int = 0
    missing: dict[str, int] = field(default_factory=dict)

    def add(self, other: QualityStats) -> None:
        self.products += other.products
        self.completeness_sum += other.completeness_sum
        self.complete += other.complete
        self.ready += other.ready
        for name, count in other.missing.items():
            self.missing[name] = self.missing.get(name, 0) + count

    def _ratio(self, value: int, scale: int) -> Decimal:
        return (Decimal(scale * value) / max(self.products, 1)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    @property
    def avg_completeness(self) -> Decimal:
        return self._ratio(self.completeness_sum, 1)

    @property
    def complete_pct(self) -> Decimal:
        return self._ratio(self.complete, 100)

    @property
    def ready_to_sell_pct(self) -> Decimal:
        return self._ratio(self.ready, 100)

    def top_missing(self, n: int) -> list[tuple[str, int]]:
        """The n most-missing fields, most first (ties by name)."""
        return sorted(self.missing.items(), key=lambda item: (-item[1], item[0]))[:n]


@dataclass(frozen=True)
class CategoryQuality:
    category: CategoryNode
    name: str
    stats: QualityStats


def _stats_per_category(connection: Queryable) -> dict[int | None, QualityStats]:
    """One scan for the counts and one for the missing fields, grouped by the products' own category."""
    stats: dict[int | None, QualityStats] = {}
    for category_id, products, total, complete, ready in connection.execute(text(f"""
            SELECT p.category_id, count(*), sum(p.completeness), count(*) FILTER (WHERE p.completeness = 100),
                   count(*) FILTER (WHERE {ready_to_sell_sql("p")})
            FROM products p WHERE p.status <> 'archived' GROUP BY p.category_id""")):
        stats[category_id] = QualityStats(int(products), int(total), int(complete), int(ready))
    for category_id, name, count in connection.execute(text("""
            SELECT p.category_id, f.name, count(*) FROM products p CROSS JOIN unnest(p.missing_fields) AS f(name)
            WHERE p.status <> 'archived' GROUP BY p.category_id, f.name""")):
        stats[category_id].missing[name] = int(count)
    return stats


def quality_by_category(connection: Queryable, scope_path: str | None = None
                        ) -> tuple[QualityStats, list[CategoryQuality]]:
    """Catalog-wide stats and, for each category (within `scope_path`'s subtree if given), its subtree's stats,
    ordered by path. Leaf groups are rolled up the tree in memory: categories are few, products are not."""
    per_category = _stats_per_category(connection)
    nodes = {row[0]: (CategoryNode(row[0], row[1], row[2]), row[3])
             for row in connection.execute(text("SELECT id, parent_id, path, name FROM categories"))}
    rolled: dict[int, QualityStats] = {category_id: QualityStats() for category_id in nodes}
    catalog = QualityStats()
    for category_id, stats in per_category.items():
        catalog.add(stats)
        seen: set[int] = set()
        current = category_id
        while current is not None and current in nodes and current not in seen:
            seen.add(current)
            rolled[current].add(stats)
            current = nodes[current][0].parent_id
    in_scope = [node for node, _ in nodes.values() if scope_path is None
                or node.path == scope_path or node.path.startswith(scope_path + "/")]
    in_scope.sort(key=lambda node: node.path)
    return catalog, [CategoryQuality(node, nodes[node.id][1], rolled[node.id]) for node in in_scope]

