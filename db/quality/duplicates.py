"""Likely duplicates: same GTIN, same brand and normalized name, or trigram-similar names, grouped and paged."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, text

from db.quality.engine import load_rules


class DuplicateReason(StrEnum):  # why products are grouped, strongest first; the API's `reason` values too
    SAME_GTIN = "same_gtin"
    SAME_NAME_BRAND = "same_name_brand"
    SIMILAR_NAME = "similar_name"


_REASON_ORDER: dict[str, int] = {"same_gtin": 0, "same_name_brand": 1, "similar_name": 2}
DEFAULT_SIMILARITY = 0.8


@dataclass(frozen=True)
class DuplicateProduct:
    id: int
    sku: str
    name: str
    brand: str | None
    category_id: int | None


@dataclass(frozen=True)
class DuplicateGroup:
    reason: DuplicateReason
    key: str
    """The shared GTIN, the shared `brand / normalized name`, or for similar names the weakest similarity."""
    products: list[DuplicateProduct]


@dataclass(frozen=True)
class DuplicatePage:
    total: int
    groups: list[DuplicateGroup]


_NORMALIZED_NAME = "trim(regexp_replace(lower(p.name), '[^[:alnum:]]+', ' ', 'g'))"
_NORMALIZED_GTIN = "ltrim(regexp_replace(coalesce(p.attributes->>'gtin', p.attributes->>'ean'), '\\D', '', 'g'), '0')"
_PRODUCT_OR_MODEL = "coalesce(-p.group_id, p.id)"
"""What a duplicate is counted as: the variants of one group are one product (they share a name on purpose),
so a group needs two products or models to be reported; group ids are negated to stay apart from product ids.
(min <> max, not count(DISTINCT): it keeps the GROUP BY a hash aggregate.)"""


def _scope_sql(category_ids: list[int] | None, brand: str | None, alias: str = "p") -> str:
    parts = ["TRUE"]
    if category_ids is not None:
        parts.append(f"{alias}.category_id = ANY(:categories)")
    if brand is not None:
        parts.append(f"lower({alias}.brand) = lower(:brand)")
    return " AND ".join(parts)


def _exact_groups(connection: Connection, key_sql: str, scope: str, params: dict[str, Any]
                  ) -> list[tuple[str, list[int]]]:
    rows = connection.execute(text(f"""
        SELECT {key_sql}, array_agg(p.id ORDER BY p.id) FROM products p
        WHERE {scope} AND {key_sql} <> ''
        GROUP BY {key_sql} HAVING min({_PRODUCT_OR_MODEL}) <> max({_PRODUCT_OR_MODEL})
    """), params).all()
    return [(row[0], list(row[1])) for row in rows]


def _similar_pairs(connection: Connection, scope: str, params: dict[str, Any],
                   threshold: float) -> list[tuple[int, int, float]]:
    """Pairs with near-identical names (trigram similarity >= threshold) in the same brand or category.

    Only names with the same digits are compared: the numbers in a name (model numbers, sizes, capacities)
    are what tells real variants apart, and trigrams barely see "A10" vs "C45". That equality is also a hash
    join key, so the cost stays near one scan of products instead of one trigram index probe per product
    (measured: minutes on 100k products). Names without digits are compared within their brand/category.
    """
    connection.execute(text("SELECT set_config('pg_trgm.similarity_threshold', :t, true)"),
                       {"t": str(threshold)})
    rows = connection.execute(text(f"""
        WITH candidates AS MATERIALIZED (
            SELECT p.id, lower(p.name) AS name, lower(p.brand) AS brand, p.category_id, p.group_id,
                   regexp_replace(p.name, '\\D', '', 'g') AS digits
            FROM products p WHERE {scope}
        )
        SELECT a.id, b.id, similarity(a.name, b.name)
        FROM candidates a JOIN candidates b ON b.digits = a.digits AND b.id > a.id
        WHERE (a.brand = b.brand OR a.category_id = b.category_id)
          AND a.name % b.name
          AND NOT (a.name = b.name AND a.brand IS NOT DISTINCT FROM b.brand)
          AND (a.group_id IS NULL OR b.group_id IS NULL OR a.group_id <> b.group_id)
    """), params).all()
    return [(row[0], row[1], float(row[2])) for row in rows]


def similar_to(engine: Engine, product_id: int, threshold: float = DEFAULT_SIMILARITY, limit: int = 10
               ) -> list[tuple[DuplicateProduct, float]]:
    """Products whose names look like this one's, best first, through the trigram GIN index on lower(name)
    (one index probe: cheap enough to call when a product is created or edited)."""
    with engine.begin() as connection:
        connection.execute(text("SELECT set_config('pg_trgm.similarity_threshold', :t, true)"),
                           {"t": str(threshold)})
        rows = connection.execute(text("""
            SELECT o.id, o.sku, o.name, o.brand, o.category_id, similarity(lower(o.name), lower(p.name)) AS s
            FROM products p JOIN products o ON lower(o.name) % lower(p.name) AND o.id <> p.id
            WHERE p.id = :id ORDER BY s DESC, o.id LIMIT :limit
        """), {"id": product_id, "limit": limit}).all()
    return [(DuplicateProduct(*row[:5]), float(row[5])) for row in rows]


def _components(pairs: list[tuple[int, int, float]]) -> list[tuple[list[int], float]]:
    """Connected groups of similar pairs, each with its weakest link."""
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b, _ in pairs:
        parent[root(a)] = root(b)
    weakest: dict[int, float] = {}
    members: dict[int, list[int]] = {}
    for a, _b, similarity in pairs:
        weakest[root(a)] = min(weakest.get(root(a), 1.0), similarity)
    for node in list(parent):
        members.setdefault(root(node), []).append(node)
    return [(sorted(ids), weakest[r]) for r, ids in members.items()]


def _load_products(connection: Connection, ids: set[int]) -> dict[int, DuplicateProduct]:
    rows = connection.execute(text(
        "SELECT id, sku, name, brand, category_id FROM products WHERE id = ANY(:ids)"), {"ids": sorted(ids)})
    return {row[0]: DuplicateProduct(*row) for row in rows}


def find_duplicates(engine: Engine, *, offset: int = 0, limit: int = 50, category_id: int | None = None,
                    brand: str | None = None, similarity: float = DEFAULT_SIMILARITY,
                    reasons: Iterable[DuplicateReason] = tuple(DuplicateReason),
                    ) -> DuplicatePage:
    """Groups of likely duplicates, ordered by reason (GTIN, name+brand, similar name) then lowest id.

    `category_id` narrows to that category's subtree, `brand` to one brand (case-insensitive).
    """
    wanted = set(reasons)
    with engine.begin() as connection:
        categories = None
        if category_id is not None:
            categories = sorted(load_rules(connection).subtree([category_id]))
        params = {"categories": categories, "brand": brand}
        scope = _scope_sql(categories, brand)
        raw: list[tuple[DuplicateReason, str, list[int]]] = []
        if DuplicateReason.SAME_GTIN in wanted:
            gtins = _exact_groups(connection, _NORMALIZED_GTIN, scope, params)
            raw += [(DuplicateReason.SAME_GTIN, key, ids) for key, ids in gtins]
        if DuplicateReason.SAME_NAME_BRAND in wanted:
            name_brand = f"(lower(p.brand) || ' / ' || {_NORMALIZED_NAME})"
            raw += [(DuplicateReason.SAME_NAME_BRAND, key, ids)
                    for key, ids in _exact_groups(connection, name_brand, scope, params)]
        if DuplicateReason.SIMILAR_NAME in wanted:
            groups_of: dict[int, set[int]] = {}
            for n, (_, _, ids) in enumerate(raw):
                for i in ids:
                    groups_of.setdefault(i, set()).add(n)
            pairs = [(a, b, s) for a, b, s in _similar_pairs(connection, scope, params, similarity)
                     if not groups_of.get(a, set()) & groups_of.get(b, set())]  # found for a stronger reason
            raw += [(DuplicateReason.SIMILAR_NAME, f"{weakest:.2f}", ids) for ids, weakest in _components(pairs)]
        raw.sort(key=lambda group: (_REASON_ORDER[group[0]], group[2][0]))
        page = raw[offset:offset + limit]
        products = _load_products(connection, {i for _, _, ids in page for i in ids})
    return DuplicatePage(len(raw), [_group(reason, key, ids, products) for reason, key, ids in page])


def _group(reason: DuplicateReason, key: str, ids: list[int], products: dict[int, DuplicateProduct]
           ) -> DuplicateGroup:
    return DuplicateGroup(reason, key, [products[i] for i in ids if i in products])
