"""Quality rule engine: completeness rules inherited down the category tree, loaded once and evaluated purely.

`load_rules` reads every rule once (they are few); `evaluate` is pure, so the API, the seed and background
jobs all score a product the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from db.media_quality import UPLOADED_IMAGES, uploaded_images_missing

BASE_FIELDS = ("brand", "description", "images", "price", "category", UPLOADED_IMAGES)
ATTRIBUTE_PREFIX = "attributes."
_ATTRIBUTE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


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

# The report queries (db.quality.reports, snapshots, rule_store) each take a sync Connection or Session, so async
# callers use `await session.run_sync(lambda s: ...)`.
Queryable = Connection | Session


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

