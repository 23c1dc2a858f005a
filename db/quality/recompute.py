"""Re-scoring after a rule change: keyset batches of products, only changed scores written, lost races retried."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, text

from db.quality.engine import RuleSet, evaluate, load_rules

RECOMPUTE_BATCH = 2000
_RECOMPUTE_RETRIES = 3

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

