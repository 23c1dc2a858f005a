"""The catalog quality engine, one module per concern; this re-exports what `from db import quality` callers use.

engine (rules, scoring), recompute, ready (ready to sell), snapshots, duplicates, reports, rule_store.
"""

from db.quality.duplicates import DEFAULT_SIMILARITY, DuplicateProduct, find_duplicates, similar_to
from db.quality.engine import RuleSet, evaluate, load_rules, validate_rule_field
from db.quality.ready import ready_to_sell_sql
from db.quality.recompute import recompute_all, recompute_for_categories
from db.quality.reports import (
    ProductQuality,
    ProductQualityFilter,
    QualityStats,
    list_product_quality,
    quality_by_category,
)
from db.quality.rule_store import StoredRule, delete_rule, effective_rules, insert_rule
from db.quality.snapshots import CATALOG_WIDE, has_snapshot, snapshot_series, take_snapshot, try_snapshot_lock

__all__ = [
    "CATALOG_WIDE", "DEFAULT_SIMILARITY", "DuplicateProduct", "ProductQuality", "ProductQualityFilter", "QualityStats",
    "RuleSet", "StoredRule", "delete_rule", "effective_rules", "evaluate", "find_duplicates", "has_snapshot",
    "insert_rule", "list_product_quality", "load_rules", "quality_by_category", "ready_to_sell_sql", "recompute_all",
    "recompute_for_categories", "similar_to", "snapshot_series", "take_snapshot", "try_snapshot_lock",
    "validate_rule_field",
]
