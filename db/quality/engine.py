"""Catalog quality engine: completeness rules inherited down the category tree, scores, snapshots, duplicates.

`load_rules` reads every rule once (they are few); `evaluate` is pure, so the API, the seed and background
jobs all score a product the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import psycopg
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from db.media_quality import UPLOADED_IMAGES, uploaded_images_missing

BASE_FIELDS = ("brand", "description", "images", "price", "category", UPLOADED_IMAGES)
ATTRIBUTE_PREFIX = "attributes."
_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
CATALOG_WIDE = 0
"""`quality_snapshots.category_id` of the row that covers the whole catalog (uncategorized included)."""

RECOMPUTE_BATCH = 2000
_RECOMPUTE_RETRIES = 3


@dataclass(frozen=True)
class Rule:
    """One required field. `min_length` is characters for text fields and the minimum count for images;
    `min_width` (uploaded_images only) the long side in px an uploaded image needs to count."""

    field: str
    weight: Decimal = Decimal(1)
    min_length: int | None = None
    min_width: int | None = None


@dataclass(frozen=True)
class QualityResult:
    completeness: int
    missing_fields: list[str]


@dataclass(frozen=True)
class CategoryNode:
    id: int
    parent_id: int | None
    path: str


@dataclass(frozen=True)
class RuleSet:
    """Everything needed to score any product: the tree, the rules per scope, required attributes."""

    categories: Mapping[int, CategoryNode]
    global_rules: Sequence[Rule]
    category_rules: Mapping[int, Sequence[Rule]]
    required_attributes: Mapping[int, Sequence[str]]
    _effective: dict[int | None, tuple[Rule, ...]] = field(default_factory=dict, compare=False, repr=False)
    _plans: dict[int | None, _ScorePlan] = field(default_factory=dict, compare=False, repr=False)

    def ancestors(self, category_id: int) -> list[int]:
        """The category's chain from the root down to itself (a broken parent link ends the chain)."""
        chain: list[int] = []
        current: int | None = category_id
        while current is not None and current in self.categories and current not in chain:
            chain.append(current)
            current = self.categories[current].parent_id
        return chain[::-1]

    def rules_for(self, category_id: int | None) -> tuple[Rule, ...]:
        """Effective rules: global, then every ancestor's from the root down, then the required attributes.

        A field declared again deeper in the tree keeps its first position but takes the deeper min_length
        and weight. `category` is always required (weight 1 unless a rule says otherwise).
        """
        if category_id not in self._effective:
            self._effective[category_id] = self._resolve(category_id)
        return self._effective[category_id]

    def plan_for(self, category_id: int | None) -> _ScorePlan:
        """The category's effective rules compiled once into checks (scoring 10,000 bulk items reuses them)."""
        plan = self._plans.get(category_id)
        if plan is None:
            plan = self._plans[category_id] = _ScorePlan.of(self.rules_for(category_id))
        return plan

    def _resolve(self, category_id: int | None) -> tuple[Rule, ...]:
        chain = self.ancestors(category_id) if category_id is not None else []
        ordered: dict[str, Rule] = {}
        if not any(rule.field == "category" for rule in self.global_rules):
            ordered["category"] = Rule("category")
        for rule in [*self.global_rules, *(r for cid in chain for r in self.category_rules.get(cid, ()))]:
            ordered[rule.field] = rule
        for name in (n for cid in chain for n in self.required_attributes.get(cid, ())):
            ordered.setdefault(ATTRIBUTE_PREFIX + name, Rule(ATTRIBUTE_PREFIX + name))
        return tuple(ordered.values())

    def subtree(self, category_ids: Iterable[int]) -> set[int]:
        """The given categories and all their descendants."""
        roots = {self.categories[c].path for c in category_ids if c in self.categories}
        return {node.id for node in self.categories.values()
                if any(node.path == root or node.path.startswith(root + "/") for root in roots)}


def validate_rule_field(name: str) -> None:
    """Raise ValueError unless `name` is a field the engine can check."""
    if name in BASE_FIELDS:
        return
    if name.startswith(ATTRIBUTE_PREFIX) and _ATTRIBUTE_NAME.match(name[len(ATTRIBUTE_PREFIX):]):
        return
    raise ValueError(f"unknown quality field {name!r}: use one of {', '.join(BASE_FIELDS)} or attributes.<name>")


# --- loading -------------------------------------------------------------------------------------------------

Executor = Connection | Session | psycopg.Connection[Any]


def _fetch(connection: Executor, sql: str) -> list[tuple[Any, ...]]:
    if isinstance(connection, psycopg.Connection):
        return [tuple(row) for row in connection.execute(sql).fetchall()]
    return [tuple(row) for row in connection.execute(text(sql)).all()]


def load_rules(connection: Executor) -> RuleSet:
    """Read the category tree, the quality rules and the required attribute definitions in three queries.

    Accepts a SQLAlchemy Connection or Session, or a psycopg connection; async code can use
    `await session.run_sync(load_rules)`.
    """
    categories = {row[0]: CategoryNode(row[0], row[1], row[2])
                  for row in _fetch(connection, "SELECT id, parent_id, path FROM categories")}
    global_rules: list[Rule] = []
    category_rules: dict[int, list[Rule]] = {}
    for category_id, name, min_length, weight, min_width in _fetch(
            connection, "SELECT category_id, field, min_length, weight, min_width FROM quality_rules ORDER BY id"):
        rule = Rule(name, Decimal(weight), min_length, min_width)
        if category_id is None:
            global_rules.append(rule)
        else:
            category_rules.setdefault(category_id, []).append(rule)
    required: dict[int, list[str]] = {}
    for category_id, name in _fetch(
            connection, "SELECT category_id, name FROM category_attributes WHERE required ORDER BY id"):
        required.setdefault(category_id, []).append(name)
    return RuleSet(categories, global_rules, category_rules, required)


# --- scoring -------------------------------------------------------------------------------------------------


def _value(product: Mapping[str, Any] | object, key: str) -> Any:
    if isinstance(product, Mapping):
        return product.get(key)
    return getattr(product, key, None)


def _attribute_filled(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict | tuple):
        return len(value) > 0
    return True  # numbers (0 included) and booleans (False included) are answers


def _text_filled(value: Any, min_length: int | None) -> bool:
    stripped = (value or "").strip() if isinstance(value, str) else ""
    return len(stripped) >= max(min_length or 1, 1)


def is_filled(product: Mapping[str, Any] | object, rule: Rule) -> bool:
    """Does the product satisfy one rule?"""
    if rule.field.startswith(ATTRIBUTE_PREFIX):
        attributes = _value(product, "attributes") or {}
        return _attribute_filled(attributes.get(rule.field[len(ATTRIBUTE_PREFIX):]))
    if rule.field == "category":
        return _value(product, "category_id") is not None
    if rule.field == "price":
        price = _value(product, "price")
        return price is not None and Decimal(str(price)) > 0
    if rule.field == UPLOADED_IMAGES:
        return missing_label(product, rule) is None
    if rule.field == "images":
        images = _value(product, "images") or []
        return len([url for url in images if isinstance(url, str) and url.strip()]) >= max(rule.min_length or 1, 1)
    return _text_filled(_value(product, rule.field), rule.min_length)


def missing_label(product: Mapping[str, Any] | object, rule: Rule) -> str | None:
    """How the report names an unmet rule: its field, or for uploaded images "image too small" when there are
    enough of them but too few are large enough. None when the rule is met."""
    if rule.field == UPLOADED_IMAGES:
        return uploaded_images_missing(_value(product, UPLOADED_IMAGES), rule.min_length, rule.min_width)
    return None if is_filled(product, rule) else rule.field


def score(product: Mapping[str, Any] | object, rules: Sequence[Rule]) -> QualityResult:
    """Weighted completeness of one product against an explicit list of rules."""
    labels = {rule.field: missing_label(product, rule) for rule in rules}
    missing = [rule for rule in rules if labels[rule.field] is not None]
    required = sum((rule.weight for rule in rules), Decimal(0))
    if not required:
        return QualityResult(100, [])
    filled = required - sum((rule.weight for rule in missing), Decimal(0))
    percent = int((100 * filled / required).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if missing:
        percent = min(percent, 99)  # 100 means "nothing missing", never a rounded 99.6
    return QualityResult(percent, [str(labels[rule.field]) for rule in missing])


Getter = Callable[[str], Any]
Check = Callable[[Getter], "str | None"]


def _check(rule: Rule) -> Check:
    """`missing_label` of one rule as a closure over what the rule needs (field, name, minimum), for `_ScorePlan`."""
    if rule.field.startswith(ATTRIBUTE_PREFIX):
        name = rule.field[len(ATTRIBUTE_PREFIX):]
        return lambda get: None if _attribute_filled((get("attributes") or {}).get(name)) else rule.field
    if rule.field == "category":
        return lambda get: None if get("category_id") is not None else rule.field
    if rule.field == "price":
        return lambda get: None if _positive(get("price")) else rule.field
    if rule.field == UPLOADED_IMAGES:
        return lambda get: uploaded_images_missing(get(UPLOADED_IMAGES), rule.min_length, rule.min_width)
    if rule.field == "images":
        needed = max(rule.min_length or 1, 1)

        def images(get: Getter) -> str | None:
            urls = get("images") or []
            return None if len([u for u in urls if isinstance(u, str) and u.strip()]) >= needed else rule.field
        return images
    return lambda get: None if _text_filled(get(rule.field), rule.min_length) else rule.field


def _positive(price: Any) -> bool:
    if type(price) is Decimal:
        return price > 0  # what Decimal(str(price)) > 0 says, without the round trip through text
    return price is not None and Decimal(str(price)) > 0


@dataclass(frozen=True)
class _ScorePlan:
    """`score` for one list of rules (distinct fields, as `RuleSet.rules_for` gives) with the per-rule decisions
    made once: a check per rule, the total weight, and the percentage per set of unmet rules, computed on first
    sight (a bulk import's products mostly miss the same few fields)."""

    checks: tuple[Check, ...]
    weights: tuple[Decimal, ...]
    required: Decimal
    _percent: dict[tuple[int, ...], int] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, rules: Sequence[Rule]) -> _ScorePlan:
        weights = tuple(rule.weight for rule in rules)
        return cls(tuple(_check(rule) for rule in rules), weights, sum(weights, Decimal(0)))

    def score(self, get: Getter) -> QualityResult:
        if not self.required:
            return QualityResult(100, [])
        unmet: list[int] = []
        labels: list[str] = []
        for n, check in enumerate(self.checks):
            if (label := check(get)) is not None:
                unmet.append(n)
                labels.append(label)
        if not unmet:
            return QualityResult(100, [])
        key = tuple(unmet)
        percent = self._percent.get(key)
        if percent is None:
            filled = self.required - sum((self.weights[n] for n in unmet), Decimal(0))
            percent = int((100 * filled / self.required).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            percent = self._percent[key] = min(percent, 99)  # 100 means "nothing missing", never a rounded 99.6
        return QualityResult(percent, labels)


def evaluate(product: Mapping[str, Any] | object, rules: RuleSet) -> QualityResult:
    """Completeness and missing fields of a product (a mapping or an object with the product's fields).

    Reads category_id, brand, description, images, price and attributes. Pure: no database access.
    """
    get: Getter = product.get if isinstance(product, dict) else lambda key: _value(product, key)
    return rules.plan_for(get("category_id")).score(get)


# --- recomputation after a rule change -------------------------------------------------------------------------

_PRODUCT_COLUMNS = "id, version, category_id, brand, description, images, price, attributes, completeness, " \
                   "missing_fields, uploaded_images"


def _changed_rows(rows: Sequence[Any], rules: RuleSet) -> list[dict[str, Any]]:
    changed = []
    for row in rows:
        product = row._mapping
        result = evaluate(product, rules)
        if result.completeness != product["completeness"] or result.missing_fields != list(product["missing_fields"]):
            changed.append({"id": product["id"], "version": product["version"], "c": result.completeness,
                            "m": result.missing_fields})
    return changed


_APPLY_SQL = text("""
    UPDATE products p SET completeness = v.c, missing_fields = v.m
    FROM jsonb_to_recordset(CAST(:payload AS jsonb)) AS v(id bigint, version bigint, c int, m text[])
    WHERE p.id = v.id AND p.version = v.version
      AND (p.completeness IS DISTINCT FROM v.c OR p.missing_fields IS DISTINCT FROM v.m)
    RETURNING p.id
""")


def _apply(connection: Connection, changed: list[dict[str, Any]]) -> tuple[int, set[int]]:
    """Write the new scores; a row written by someone else since it was read is returned for a retry."""
    if not changed:
        return 0, set()
    updated = {row[0] for row in connection.execute(_APPLY_SQL, {"payload": json.dumps(changed)})}
    return len(updated), {row["id"] for row in changed} - updated


def _recompute_where(engine: Engine, condition: str, params: dict[str, Any]) -> int:
    """Keyset-walk the matching products in batches, one short transaction per batch."""
    total, after, conflicts = 0, 0, set[int]()
    while True:
        with engine.begin() as connection:
            rules = load_rules(connection)
            rows = connection.execute(text(
                f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE ({condition}) AND id > :after ORDER BY id LIMIT :n"
            ), {**params, "after": after, "n": RECOMPUTE_BATCH}).all()
            if not rows:
                break
            count, lost = _apply(connection, _changed_rows(rows, rules))
        total, after, conflicts = total + count, rows[-1].id, conflicts | lost
    return total + _retry_conflicts(engine, conflicts)


def _retry_conflicts(engine: Engine, ids: set[int]) -> int:
    total = 0
    for _ in range(_RECOMPUTE_RETRIES):
        if not ids:
            break
        with engine.begin() as connection:
            rules = load_rules(connection)
            rows = connection.execute(text(f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE id = ANY(:ids)"),
                                      {"ids": sorted(ids)}).all()
            count, ids = _apply(connection, _changed_rows(rows, rules))
        total += count
    return total


def recompute_for_categories(engine: Engine, category_ids: Iterable[int | None]) -> int:
    """Re-score the products of the given categories' subtrees; `None` in the list means every product
    (a global rule changed). Only rows whose score changes are written (a write bumps the version and
    re-indexes the product). Returns how many products changed.
    """
    ids = list(category_ids)
    if None in ids:
        return _recompute_where(engine, "TRUE", {})
    with engine.connect() as connection:
        subtree = sorted(load_rules(connection).subtree(i for i in ids if i is not None))
    if not subtree:
        return 0
    return _recompute_where(engine, "category_id = ANY(:categories)", {"categories": subtree})


def recompute_all(engine: Engine) -> int:
    return recompute_for_categories(engine, [None])


# --- ready to sell ---------------------------------------------------------------------------------------------


def ready_to_sell_sql(alias: str = "p") -> str:
    """SQL boolean: active, complete, priced and with available stock in some warehouse."""
    return (f"({alias}.status = 'active' AND {alias}.completeness = 100 AND {alias}.price > 0 "
            f"AND EXISTS (SELECT 1 FROM inventory i WHERE i.product_id = {alias}.id "
            f"AND i.on_hand - i.reserved > 0))")


def is_ready_to_sell(status: str, completeness: int, price: Decimal | float, available: int) -> bool:
    """The same definition for code that already holds the values (e.g. the indexer)."""
    return status == "active" and completeness == 100 and Decimal(str(price)) > 0 and available > 0


# --- daily snapshots -------------------------------------------------------------------------------------------

# Archived products are out of the merchandisers' scope and do not count. Leaf stats are computed once and
# rolled up through the path prefix, so the cost is one scan of products whatever the tree depth.
_SNAPSHOT_SQL = f"""
WITH per_category AS (
    SELECT p.category_id, count(*) AS products, sum(p.completeness) AS completeness_sum,
           count(*) FILTER (WHERE p.completeness = 100) AS complete,
           count(*) FILTER (WHERE {ready_to_sell_sql("p")}) AS ready
    FROM products p WHERE p.status <> 'archived'
    GROUP BY p.category_id
), scoped AS (
    SELECT c.id AS category_id, c.path, pc.products, pc.completeness_sum, pc.complete, pc.ready
    FROM categories c
    LEFT JOIN categories d ON d.path = c.path OR d.path LIKE c.path || '/%'
    LEFT JOIN per_category pc ON pc.category_id = d.id
    UNION ALL
    SELECT {CATALOG_WIDE}, '', products, completeness_sum, complete, ready FROM per_category
), totals AS (
    SELECT category_id, path, coalesce(sum(products), 0) AS products,
           coalesce(sum(completeness_sum), 0) AS completeness_sum,
           coalesce(sum(complete), 0) AS complete, coalesce(sum(ready), 0) AS ready
    FROM scoped GROUP BY category_id, path
)
INSERT INTO quality_snapshots AS s (taken_on, category_id, category_path, products, avg_completeness,
                                    complete_pct, ready_to_sell_pct)
SELECT CAST(:day AS date), category_id, path, products,
       round(completeness_sum::numeric / greatest(products, 1), 2),
       round(100.0 * complete / greatest(products, 1), 2),
       round(100.0 * ready / greatest(products, 1), 2)
FROM totals
ON CONFLICT (taken_on, category_id) DO UPDATE SET
    category_path = excluded.category_path, products = excluded.products,
    avg_completeness = excluded.avg_completeness, complete_pct = excluded.complete_pct,
    ready_to_sell_pct = excluded.ready_to_sell_pct
"""


def take_snapshot(engine: Engine, day: date) -> int:
    """Upsert one row per category (its whole subtree) plus the catalog-wide row for `day`.

    Idempotent: taking it again the same day replaces that day's figures. Returns the rows written.
    """
    with engine.begin() as connection:
        connection.execute(text(
            "DELETE FROM quality_snapshots WHERE taken_on = :day AND category_id <> :wide "
            "AND category_id NOT IN (SELECT id FROM categories)"), {"day": day, "wide": CATALOG_WIDE})
        return connection.execute(text(_SNAPSHOT_SQL), {"day": day}).rowcount


# --- duplicates ------------------------------------------------------------------------------------------------

DuplicateReason = Literal["same_gtin", "same_name_brand", "similar_name"]
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
                    reasons: Iterable[DuplicateReason] = ("same_gtin", "same_name_brand", "similar_name"),
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
        if "same_gtin" in wanted:
            raw += [("same_gtin", key, ids) for key, ids in _exact_groups(connection, _NORMALIZED_GTIN, scope, params)]
        if "same_name_brand" in wanted:
            name_brand = f"(lower(p.brand) || ' / ' || {_NORMALIZED_NAME})"
            raw += [("same_name_brand", key, ids) for key, ids in _exact_groups(connection, name_brand, scope, params)]
        if "similar_name" in wanted:
            groups_of: dict[int, set[int]] = {}
            for n, (_, _, ids) in enumerate(raw):
                for i in ids:
                    groups_of.setdefault(i, set()).add(n)
            pairs = [(a, b, s) for a, b, s in _similar_pairs(connection, scope, params, similarity)
                     if not groups_of.get(a, set()) & groups_of.get(b, set())]  # found for a stronger reason
            raw += [("similar_name", f"{weakest:.2f}", ids) for ids, weakest in _components(pairs)]
        raw.sort(key=lambda group: (_REASON_ORDER[group[0]], group[2][0]))
        page = raw[offset:offset + limit]
        products = _load_products(connection, {i for _, _, ids in page for i in ids})
    return DuplicatePage(len(raw), [_group(reason, key, ids, products) for reason, key, ids in page])


def _group(reason: DuplicateReason, key: str, ids: list[int], products: dict[int, DuplicateProduct]
           ) -> DuplicateGroup:
    return DuplicateGroup(reason, key, [products[i] for i in ids if i in products])


# =============================================================================================================
# --- queries for the quality API (api/quality/) ---------------------------------------------------------------
# Each takes a sync Connection or Session, so async callers use `await session.run_sync(lambda s: ...)`.
# Archived products are out of scope unless a status asks for them, as in the snapshots above.

from datetime import datetime  # noqa: E402  (kept out of the engine's imports above)

Queryable = Connection | Session


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


@dataclass(frozen=True)
class SnapshotPoint:
    taken_on: date
    products: int
    avg_completeness: Decimal
    complete_pct: Decimal
    ready_to_sell_pct: Decimal


def snapshot_series(connection: Queryable, category_id: int = CATALOG_WIDE, since: date | None = None,
                    until: date | None = None) -> list[SnapshotPoint]:
    """The daily snapshots of one category (or CATALOG_WIDE), oldest first, within [since, until]."""
    rows = connection.execute(text("""
        SELECT taken_on, products, avg_completeness, complete_pct, ready_to_sell_pct FROM quality_snapshots
        WHERE category_id = :category AND taken_on >= coalesce(CAST(:since AS date), '-infinity')
          AND taken_on <= coalesce(CAST(:until AS date), 'infinity')
        ORDER BY taken_on
    """), {"category": category_id, "since": since, "until": until}).all()
    return [SnapshotPoint(*row) for row in rows]


SNAPSHOT_LOCK_KEY = 7_301_001
"""PostgreSQL advisory lock key: one snapshot taker at a time, however many API workers race for it."""


def try_snapshot_lock(connection: Queryable) -> bool:
    """Take the snapshot lock for the connection's transaction; False when another process holds it."""
    return bool(connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                   {"key": SNAPSHOT_LOCK_KEY}).scalar_one())


def has_snapshot(connection: Queryable, day: date) -> bool:
    """Has the catalog-wide row of `day` been taken?"""
    return bool(connection.execute(text("SELECT EXISTS (SELECT 1 FROM quality_snapshots WHERE taken_on = :day "
                                        "AND category_id = :wide)"), {"day": day, "wide": CATALOG_WIDE}).scalar_one())


RuleSource = Literal["global", "category", "required_attribute", "default"]


@dataclass(frozen=True)
class EffectiveRule:
    """A rule as it applies to one category, with where it is defined (`category_id` None: globally)."""

    rule: Rule
    source: RuleSource
    rule_id: int | None
    category_id: int | None


def _rule_sources(rules: RuleSet, chain: list[int], ids: Mapping[tuple[int | None, str], int]
                  ) -> dict[str, tuple[RuleSource, int | None, int | None]]:
    """Mirrors RuleSet._resolve: the last scope that declares a field is where its effective rule comes from."""
    sources: dict[str, tuple[RuleSource, int | None, int | None]] = {"category": ("default", None, None)}
    for rule in rules.global_rules:
        sources[rule.field] = ("global", ids.get((None, rule.field)), None)
    for category_id in chain:
        for rule in rules.category_rules.get(category_id, ()):
            sources[rule.field] = ("category", ids.get((category_id, rule.field)), category_id)
    for category_id in chain:
        for name in rules.required_attributes.get(category_id, ()):
            sources.setdefault(ATTRIBUTE_PREFIX + name, ("required_attribute", None, category_id))
    return sources


def effective_rules(connection: Queryable, category_id: int | None) -> list[EffectiveRule]:
    """The rules that score products of `category_id` (None: uncategorized products), in scoring order."""
    rules = load_rules(connection)
    ids = {(row[1], row[2]): row[0]
           for row in connection.execute(text("SELECT id, category_id, field FROM quality_rules"))}
    chain = rules.ancestors(category_id) if category_id is not None else []
    sources = _rule_sources(rules, chain, ids)
    return [EffectiveRule(rule, *sources[rule.field]) for rule in rules.rules_for(category_id)]


@dataclass(frozen=True)
class StoredRule:
    id: int
    category_id: int | None
    field: str
    min_length: int | None
    weight: Decimal
    created_at: datetime
    min_width: int | None = None


_RULE_COLUMNS = "id, category_id, field, min_length, weight, created_at, min_width"


def insert_rule(connection: Queryable, category_id: int | None, name: str, min_length: int | None,
                weight: Decimal, min_width: int | None = None) -> StoredRule | None:
    """Store a rule; None when the scope already has a rule for this field."""
    validate_rule_field(name)
    row = connection.execute(text(f"""
        INSERT INTO quality_rules (category_id, field, min_length, weight, min_width)
        VALUES (:category, :field, :min_length, :weight, :min_width)
        ON CONFLICT ((coalesce(category_id, 0)), field) DO NOTHING RETURNING {_RULE_COLUMNS}
    """), {"category": category_id, "field": name, "min_length": min_length, "weight": weight,
           "min_width": min_width}).first()
    return StoredRule(*row) if row else None


def delete_rule(connection: Queryable, rule_id: int) -> StoredRule | None:
    """Remove a rule; None when there is none with this id."""
    row = connection.execute(text(f"DELETE FROM quality_rules WHERE id = :id RETURNING {_RULE_COLUMNS}"),
                             {"id": rule_id}).first()
    return StoredRule(*row) if row else None

