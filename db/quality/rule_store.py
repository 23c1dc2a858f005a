"""Rule storage: the rules stored per scope, inserted and deleted, and which scope each effective rule comes from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import text

from db.quality.engine import ATTRIBUTE_PREFIX, Queryable, Rule, RuleSet, load_rules, validate_rule_field


class RuleSource(StrEnum):  # where an effective rule is defined; the API's `source` values too
    GLOBAL = "global"
    CATEGORY = "category"
    REQUIRED_ATTRIBUTE = "required_attribute"
    DEFAULT = "default"


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
    sources: dict[str, tuple[RuleSource, int | None, int | None]] = {"category": (RuleSource.DEFAULT, None, None)}
    for rule in rules.global_rules:
        sources[rule.field] = (RuleSource.GLOBAL, ids.get((None, rule.field)), None)
    for category_id in chain:
        for rule in rules.category_rules.get(category_id, ()):
            sources[rule.field] = (RuleSource.CATEGORY, ids.get((category_id, rule.field)), category_id)
    for category_id in chain:
        for name in rules.required_attributes.get(category_id, ()):
            sources.setdefault(ATTRIBUTE_PREFIX + name, (RuleSource.REQUIRED_ATTRIBUTE, None, category_id))
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

