"""Deterministic demo catalog: categories, attribute definitions, quality rules, warehouses, product groups and
their variants, products, stock and price history, written with COPY in one transaction.

About 15% of the products are variants (`VARIANT_SHARE`): t-shirts and hoodies in colors x sizes, phones in storage
x colors (`db.seed_catalog.VARIANT_MODELS`). A variant's row is what `db.variants.resolve` makes of it,
the rule every other write follows: the name, brand, category and description (and, for models without photos
per color, the images) copied from its group and listed in `inherited`, and its `variant_key`.

The products are drawn by `db.seed_products` (products of their own) and `db.seed_variants` (groups and their
variants), without I/O; this module writes the reference data and then everything drawn.

Speed: the product and inventory row triggers would write an audit row, a price-history row and an outbox row
per product, and every stock row would bump its product's version (another update, audit and outbox row):
five times the writes of the data itself. The seed therefore disables those two triggers inside its own
transaction (`ALTER TABLE ... DISABLE TRIGGER` holds a lock that keeps every other writer waiting, so nobody
ever writes while they are off, and a failed seed rolls the switch back) and writes what they would have
written itself: one price-history row per price (backdated, so the history is realistic) and one outbox row
per product so the indexer indexes everything. No audit rows are written for seeded products; the groups (about one
per hundred products) keep their row trigger, so each has its audit row and its change-log entry. Foreign keys and
checks stay enforced. The whole catalog commits at once or not at all. Measured on a shared 2-core machine:
20k products take 6 s this way and 18 s with the triggers firing; 100k take about 17-19 s (`bench/seed.py`).
The groups cost nothing measurable: 4.2-5.2 s for 20k and 26-30 s for 100k with them, as without them, in
interleaved runs on the same (then busier) machine.
"""

from __future__ import annotations

import json
import random
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import Engine

from db import quality
from db.seed_catalog import BRANCHES, LEAVES, RULES, WAREHOUSES, Attr
from db.seed_products import DUPLICATE_SHARE, Context, SeededProduct, near_copy, own_product
from db.seed_variants import VARIANT_SHARE, SeededGroup, group_context, own_products, plan_groups, variant

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total)"""

_PRODUCT_COLUMNS = ("id", "sku", "name", "description", "brand", "category_id", "status", "price", "currency",
                    "attributes", "images", "completeness", "missing_fields", "created_at", "updated_at", "group_id",
                    "inherited", "variant_key")
_GROUP_COLUMNS = ("id", "code", "name", "description", "brand", "category_id", "images", "axes", "created_at",
                  "updated_at")
# products_after_insert (migration 0007) is the statement-level half of products_after_write: inserts.
_TRIGGERS = (("products", "products_after_write"), ("products", "products_after_insert"),
             ("inventory", "inventory_after_write"))


class CatalogNotEmptyError(RuntimeError):
    """The seed only writes into a catalog without products or categories."""


def conninfo(target: Engine | str) -> str:
    """A libpq URL for an SQLAlchemy engine or URL (`postgresql+psycopg://`), or a DSN as given."""
    url = target.url.render_as_string(hide_password=False) if isinstance(target, Engine) else target
    return url.replace("postgresql+psycopg://", "postgresql://", 1)

# --- reference data ------------------------------------------------------------------------------------------


def _insert_categories(conn: psycopg.Connection[Any]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for path, name in [(b.path, b.name) for b in BRANCHES] + [(leaf.path, leaf.name) for leaf in LEAVES]:
        parent = path.rpartition("/")[0] or None
        row = conn.execute(
            "INSERT INTO categories (parent_id, slug, name, path, depth) VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (ids.get(parent) if parent else None, path.rpartition("/")[2], name, path, path.count("/")),
        ).fetchone()
        assert row is not None
        ids[path] = row[0]
    return ids


def _insert_attributes(conn: psycopg.Connection[Any], category_ids: dict[str, int]) -> None:
    definitions = [(b.path, a) for b in BRANCHES for a in b.attrs] + [(x.path, a) for x in LEAVES for a in x.attrs]
    definitions += [(b.path, Attr("gtin", "string", (), facetable=False)) for b in BRANCHES if "/" not in b.path]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO category_attributes (category_id, name, type, allowed_values, required, facetable) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [(category_ids[path], a.name, a.type, json.dumps(list(a.choices)) if a.closed else None, a.required,
              a.facetable) for path, a in definitions],
        )


def _insert_rules(conn: psycopg.Connection[Any], category_ids: dict[str, int]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO quality_rules (category_id, field, min_length, weight) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (coalesce(category_id, 0), field) DO UPDATE "
            "SET min_length = excluded.min_length, weight = excluded.weight",
            [(category_ids[r.category_path] if r.category_path else None, r.field, r.min_length, r.weight)
             for r in RULES],
        )


def _insert_warehouses(conn: psycopg.Connection[Any]) -> list[int]:
    ids = []
    for code, name in WAREHOUSES:
        row = conn.execute(
            "INSERT INTO warehouses (code, name) VALUES (%s, %s) "
            "ON CONFLICT (code) DO UPDATE SET name = warehouses.name RETURNING id", (code, name)).fetchone()
        assert row is not None
        ids.append(row[0])
    return ids

# --- the catalog in id order ---------------------------------------------------------------------------------


def _slots(ctx: Context, own: int, groups: list[SeededGroup]) -> Iterator[SeededGroup | None]:
    """The catalog in id order: None for each of the `own` products of their own, a group where its variants
    come (spread over the catalog at random)."""
    starts = sorted(ctx.rng.randint(0, own) for _ in groups)
    pending = deque(zip(starts, groups, strict=True))
    for position in range(own + 1):
        while pending and pending[0][0] == position:
            yield pending.popleft()[1]
        if position < own:
            yield None


def generate(ctx: Context, first_id: int, count: int, groups: list[SeededGroup] | None = None,
             group_ctx: Context | None = None) -> Iterator[SeededProduct]:
    """Yield `count` products with ids from `first_id`, scored against the loaded rules: the variants of the
    (already written) `groups`, drawn with `group_ctx`, and products of their own for the rest, drawn with `ctx`
    and numbered among themselves (so they do not depend on the groups)."""
    groups = groups or []
    group_ctx = group_ctx or ctx
    own = own_products(count, groups)
    if own < 0:
        raise ValueError(f"the groups have more variants than the {count} products asked for")
    recent: deque[SeededProduct] = deque(maxlen=5000)  # candidates for near copies: products of their own
    index = own_index = 0
    for slot in _slots(group_ctx, own, groups):
        if slot is not None:
            batch = [variant(group_ctx, slot, values, first_id + index + n) for n, values in enumerate(slot.members)]
        elif recent and ctx.rng.random() < DUPLICATE_SHARE:
            batch = [near_copy(ctx, ctx.rng.choice(recent), first_id + index, own_index)]
        else:
            batch = [own_product(ctx, first_id + index, own_index)]
        own_index += slot is None
        for product in batch:
            result = quality.evaluate(product.row, ctx.rules)
            product.row["completeness"], product.row["missing_fields"] = result.completeness, result.missing_fields
            if slot is None:
                recent.append(product)
            index += 1
            yield product


# --- writing -----------------------------------------------------------------------------------------------------


def _reserve_ids(conn: psycopg.Connection[Any], table: str, count: int) -> int:
    row = conn.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", (table,)).fetchone()
    assert row is not None
    first = int(row[0])
    conn.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", (table, first + count - 1))
    return first


def _copy_groups(conn: psycopg.Connection[Any], groups: list[SeededGroup], progress: Progress) -> None:
    """Give the groups their ids and write them (before their variants: the foreign key is checked)."""
    progress("groups", 0, len(groups))
    if not groups:
        return
    first = _reserve_ids(conn, "product_groups", len(groups))
    with conn.cursor() as cur, cur.copy(f"COPY product_groups ({', '.join(_GROUP_COLUMNS)}) FROM STDIN") as copy:
        for n, group in enumerate(groups):
            group.row["id"] = first + n
            copy.write_row([json.dumps(group.row[c]) if c == "images" else group.row[c] for c in _GROUP_COLUMNS])
    progress("groups", len(groups), len(groups))


def _copy_products(conn: psycopg.Connection[Any], products: Iterator[SeededProduct], count: int,
                   progress: Progress) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    stock: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []
    with conn.cursor() as cur, cur.copy(f"COPY products ({', '.join(_PRODUCT_COLUMNS)}) FROM STDIN") as copy:
        for done, product in enumerate(products, 1):
            row = product.row
            copy.write_row([json.dumps(row[c]) if c in ("attributes", "images") else row[c]
                            for c in _PRODUCT_COLUMNS])
            stock += [(row["id"], *s) for s in product.stock]
            history += [(row["id"], row["sku"], old, new, None if old is None else row["currency"],
                         row["currency"], at) for old, new, at in product.history]
            if done % 5000 == 0 or done == count:
                progress("products", done, count)
    return stock, history


def _copy_rows(cur: psycopg.Cursor[Any], target: str, rows: list[tuple[Any, ...]], stage: str,
               progress: Progress) -> None:
    progress(stage, 0, len(rows))
    with cur.copy(f"COPY {target} FROM STDIN") as copy:
        for done, row in enumerate(rows, 1):
            copy.write_row(row)
            if done % 50_000 == 0:
                progress(stage, done, len(rows))
    progress(stage, len(rows), len(rows))


def _copy_rest(conn: psycopg.Connection[Any], stock: list[tuple[Any, ...]],
               history: list[tuple[Any, ...]], progress: Progress) -> None:
    with conn.cursor() as cur:
        _copy_rows(cur, "inventory (product_id, warehouse_id, on_hand, reserved)", stock, "stock", progress)
        _copy_rows(cur, "price_history (product_id, sku, old_price, new_price, old_currency, currency, changed_at)",
                   history, "price history", progress)
        cur.execute("INSERT INTO outbox (product_id, reason, product_version) "
                    "SELECT id, 'product', version FROM products ORDER BY id")
        cur.execute("SELECT pg_notify('catalog_outbox', '')")


def is_empty(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM products) AND NOT EXISTS (SELECT 1 FROM categories) "
                       "AND NOT EXISTS (SELECT 1 FROM product_groups)").fetchone()
    return bool(row and row[0])


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def seed(target: Engine | str, products: int, seed: int = 42, progress: Progress | None = None,
         currency: str = "USD") -> int:
    """Write the demo catalog into an empty database; the same `seed` always gives the same catalog
    (timestamps aside, which are relative to now). Returns the number of products written.
    """
    progress = progress or _no_progress
    with psycopg.connect(conninfo(target)) as conn:
        if not is_empty(conn):
            raise CatalogNotEmptyError(
                "the catalog already has products, product groups or categories; seed needs an empty one")
        category_ids = _insert_categories(conn)
        _insert_attributes(conn, category_ids)
        _insert_rules(conn, category_ids)
        ctx = Context(random.Random(seed), datetime.now(UTC), currency, category_ids, _insert_warehouses(conn),
                      quality.load_rules(conn), [leaf.weight for leaf in LEAVES])
        group_ctx = group_context(ctx, seed)
        groups = plan_groups(group_ctx, int(products * VARIANT_SHARE))
        first_id = _reserve_ids(conn, "products", products) if products else 0
        for table, trigger in _TRIGGERS:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        _copy_groups(conn, groups, progress)
        stock, history = _copy_products(conn, generate(ctx, first_id, products, groups, group_ctx), products,
                                        progress)
        _copy_rest(conn, stock, history, progress)
        for table, trigger in _TRIGGERS:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
    _analyze(target)
    return products


def _analyze(target: Engine | str) -> None:
    """Statistics, and the visibility map that lets the dashboard's index-only scans skip the heap right away
    (autovacuum would get there on its own, minutes later). VACUUM runs outside a transaction: autocommit.
    About 5% of the seed's time (1.4 s at 100k products)."""
    with psycopg.connect(conninfo(target), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) categories, product_groups, products, inventory, price_history")


def seed_if_empty(target: Engine | str, products: int, seed_value: int = 42, progress: Progress | None = None,
                  currency: str = "USD") -> bool:
    """Seed unless the catalog already has data; True when it seeded."""
    try:
        seed(target, products, seed_value, progress, currency)
    except CatalogNotEmptyError:
        return False
    return True

