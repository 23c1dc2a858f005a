"""Deterministic demo catalog: categories, attribute definitions, quality rules, warehouses, product groups and
their variants, products, stock and price history, written with COPY in one transaction.

About 15% of the products are variants (`VARIANT_SHARE`): t-shirts and hoodies in colors x sizes, phones in storage
x colors (`db.seed_catalog.VARIANT_MODELS`). A variant's row is what `db.variants.resolve` makes of it,
the rule every other write follows: the name, brand, category and description (and, for models without photos
per color, the images) copied from its group and listed in `inherited`, and its `variant_key`.

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

import dataclasses
import itertools
import json
import math
import random
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache, cached_property
from typing import Any

import psycopg
from sqlalchemy import Engine

from db import quality
from db.seed_catalog import (
    APPAREL_SIZES,
    APPAREL_SIZES_WIDE,
    BRANCHES,
    DESCRIPTION_SENTENCES,
    LEAVES,
    PHONE_STORAGE_GB,
    RULES,
    VARIANT_MODELS,
    WAREHOUSES,
    Attr,
    Leaf,
    VariantModel,
)
from db.variants import GroupFacts, resolve

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total)"""

INCOMPLETE_SHARE = 0.15
OUT_OF_STOCK_SHARE = 0.08
PRICE_CHANGE_SHARE = 0.04
DUPLICATE_SHARE = 0.01
VARIANT_SHARE = 0.15
VARIANT_OUT_OF_STOCK_SHARE = 0.15  # a color in one size sells out more often than a whole model
COLOR_PHOTO_SHARE = 0.6  # models photographed in each color; the others' variants share the group's images
DEFECTS: tuple[tuple[str, int], ...] = (
    ("brand", 20), ("description", 25), ("images", 20), ("attribute", 20), ("category", 10), ("price", 5),
)
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


@dataclass
class SeededProduct:
    row: dict[str, Any]
    stock: list[tuple[int, int, int]]  # (warehouse_id, on_hand, reserved)
    history: list[tuple[Decimal | None, Decimal, datetime]] = field(default_factory=list)


@dataclass
class SeededGroup:
    """A model sold in variants: its product_groups row (`id` set once written), what its variants share
    (`shared` attributes) and the axis values of each variant (`members`)."""

    row: dict[str, Any]
    model: VariantModel
    shared: dict[str, Any]
    members: list[dict[str, Any]]
    base_price: Decimal  # of the cheapest variant
    status: str
    color_photos: bool

    @cached_property
    def facts(self) -> GroupFacts:
        row = self.row
        return GroupFacts(row["id"], row["code"], row["name"], row["brand"], row["category_id"],
                          row["description"], list(row["images"]), list(row["axes"]))


@dataclass(frozen=True)
class Context:
    rng: random.Random
    now: datetime
    currency: str
    category_ids: dict[str, int]
    warehouse_ids: list[int]
    rules: quality.RuleSet
    leaf_weights: list[int]


def conninfo(target: Engine | str) -> str:
    """A libpq URL for an SQLAlchemy engine or URL (`postgresql+psycopg://`), or a DSN as given."""
    url = target.url.render_as_string(hide_password=False) if isinstance(target, Engine) else target
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


# --- reference data ------------------------------------------------------------------------------------------


@cache
def _attrs_for(path: str) -> tuple[Attr, ...]:
    """Attribute definitions that apply to a leaf: its ancestors' and its own (asked once per product)."""
    inherited = [a for b in BRANCHES if path.startswith(b.path + "/") for a in b.attrs]
    own = next((leaf.attrs for leaf in LEAVES if leaf.path == path), ())
    return (*inherited, *own)


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


# --- product generation ----------------------------------------------------------------------------------------


def _model_number(rng: random.Random, pattern: str) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXZ") if ch == "A" else str(rng.randrange(10)) if ch == "9"
                   else ch for ch in pattern)


def _attribute_value(rng: random.Random, attr: Attr) -> Any:
    if attr.type == "list":
        return sorted(rng.sample(attr.choices, rng.randint(1, min(3, len(attr.choices)))))
    return rng.choice(attr.choices)


def _gtin(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(12)]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits)) + str(check)


def _format(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _price(rng: random.Random, leaf: Leaf) -> Decimal:
    raw = leaf.median_price * math.exp(rng.gauss(0, leaf.price_sigma))
    if raw < 20:
        return Decimal(f"{max(raw, 1):.2f}").quantize(Decimal("0.01"))
    return Decimal(max(round(raw / 10) * 10, 20)) - Decimal("0.01")  # 649.99-style price points


def _description(rng: random.Random, leaf: Leaf, brand: str, line: str, attributes: dict[str, Any]) -> str:
    specs = ", ".join(f"{k.replace('_', ' ')} {_format(v)}" for k, v in attributes.items()
                      if k != "gtin" and not isinstance(v, bool | list))
    sentences = rng.sample(DESCRIPTION_SENTENCES, rng.randint(2, 4))
    warranty = attributes.get("warranty_years", 2)
    text = " ".join(s.format(brand=brand, line=line, noun=leaf.noun, warranty=warranty)
                    for s in sentences)
    return f"{text} Key specs: {specs}." if specs else text


def _defects(rng: random.Random, leaf: Leaf) -> set[str]:
    if rng.random() >= INCOMPLETE_SHARE:
        return set()
    names, weights = zip(*DEFECTS, strict=True)
    chosen = set(rng.choices(names, weights, k=2 if rng.random() < 0.2 else 1))
    if "attribute" in chosen and not any(a.required for a in _attrs_for(leaf.path)):
        chosen = (chosen - {"attribute"}) | {"description"}
    return chosen


def _status(rng: random.Random, incomplete: bool) -> str:
    if incomplete:
        return rng.choices(("draft", "active", "archived"), (45, 50, 5))[0]
    return rng.choices(("active", "draft", "archived"), (88, 7, 5))[0]


def _stock(rng: random.Random, warehouses: list[int], out_of_stock_share: float = OUT_OF_STOCK_SHARE
           ) -> list[tuple[int, int, int]]:
    stocked = sorted(rng.sample(warehouses, rng.randint(1, len(warehouses))))
    if rng.random() < out_of_stock_share:
        return [(w, (n := rng.choice((0, 0, 0, 2, 5))), n) for w in stocked]  # nothing available anywhere
    rows = []
    for w in stocked:
        on_hand = max(1, int(math.exp(rng.gauss(3.2, 1.0))))
        rows.append((w, on_hand, rng.randint(0, on_hand // 4)))
    return rows


def _history(rng: random.Random, price: Decimal, created: datetime, now: datetime
             ) -> list[tuple[Decimal | None, Decimal, datetime]]:
    """The product's price history, oldest first, ending with its current price."""
    if rng.random() >= PRICE_CHANGE_SHARE:
        return [(None, price, created)]
    changes = sorted(now - timedelta(minutes=rng.randint(60, 90 * 24 * 60)) for _ in range(rng.randint(1, 3)))
    prices = [price]
    for _ in changes:
        prices.insert(0, (prices[0] * Decimal(1 + rng.uniform(0.05, 0.25) * rng.choice((1, -1))))
                      .quantize(Decimal("0.01")))
    history: list[tuple[Decimal | None, Decimal, datetime]] = [(None, prices[0], created)]
    history += [(prices[i], prices[i + 1], at) for i, at in enumerate(changes)]
    return history


def _sku_prefix(brand: str, leaf: Leaf) -> str:
    return f"{re.sub('[^A-Z0-9]', 'X', brand[:3].upper())}-{leaf.path.rpartition('/')[2][:4].upper()}"


def _product(ctx: Context, product_id: int, index: int) -> SeededProduct:
    rng = ctx.rng
    leaf = rng.choices(LEAVES, ctx.leaf_weights)[0]
    defects = _defects(rng, leaf)
    brand_index = rng.randrange(len(leaf.brands))
    brand = leaf.brands[brand_index]
    line = leaf.lines[(brand_index + (rng.random() < 0.3)) % len(leaf.lines)]  # each brand keeps its lines
    attributes = {a.name: _attribute_value(rng, a) for a in _attrs_for(leaf.path)}
    attributes["gtin"] = _gtin(rng)
    spec = leaf.spec.format_map({k: _format(v) for k, v in attributes.items()})
    name = f"{brand} {line} {_model_number(rng, leaf.model)} {spec}"
    if "attribute" in defects:
        required = [a.name for a in _attrs_for(leaf.path) if a.required]
        attributes.pop(rng.choice(required))
    price = Decimal(0) if "price" in defects else _price(rng, leaf)
    created = ctx.now - timedelta(minutes=rng.randint(91 * 24 * 60, 400 * 24 * 60))
    sku = f"{_sku_prefix(brand, leaf)}-{index:07d}"
    row = {
        "id": product_id, "sku": sku, "name": name,
        "description": rng.choice(("Great value.", f"{brand} {leaf.noun}.", ""))
        if "description" in defects else _description(rng, leaf, brand, line, attributes),
        "brand": None if "brand" in defects else brand,
        "category_id": None if "category" in defects else ctx.category_ids[leaf.path],
        "status": _status(rng, bool(defects)), "price": price, "currency": ctx.currency,
        "attributes": attributes,
        "images": [] if "images" in defects
        else [f"https://images.example.com/{sku.lower()}/{n}.jpg" for n in range(1, rng.randint(2, 5) + 1)],
        "group_id": None, "inherited": [], "variant_key": None,
    }
    history = _history(rng, price, created, ctx.now)
    row["created_at"], row["updated_at"] = created, history[-1][2]
    return SeededProduct(row, _stock(rng, ctx.warehouse_ids), history)


def _typo(rng: random.Random, name: str) -> str:
    """The same name as a careless feed writes it: a hyphen dropped, inches spelled out, two letters swapped."""
    if "-" in name and rng.random() < 0.4:
        return name.replace("-", "", 1)
    if '"' in name and rng.random() < 0.5:
        return name.replace('"', " inch", 1)
    words = name.split()
    candidates = [i for i, word in enumerate(words) if len(word) > 4 and word.isalpha()]
    if not candidates:
        return name + " "  + "NEW"
    i = rng.choice(candidates)
    at = rng.randrange(1, len(words[i]) - 2)
    word = words[i]
    words[i] = word[:at] + word[at + 1] + word[at] + word[at + 2:]
    return " ".join(words)


def _near_copy(ctx: Context, original: SeededProduct, product_id: int, index: int) -> SeededProduct:
    """A likely duplicate of an earlier product, as feeds produce them: the same name under another SKU, the
    same GTIN under another name, or the name with a typo."""
    rng = ctx.rng
    row = dict(original.row, id=product_id, attributes=dict(original.row["attributes"]))
    row["sku"] = f"{row['sku'].rsplit('-', 1)[0]}-{index:07d}"
    kind = rng.choice(("same_name", "same_gtin", "typo"))
    if kind == "same_gtin":
        brand = original.row["brand"] or ""
        row["name"] = f"{row['name'].removeprefix(brand).strip()}, by {brand}" if brand else row["name"] + " (EU)"
    else:
        row["attributes"]["gtin"] = _gtin(rng)
        if kind == "typo":
            row["name"] = _typo(rng, row["name"])
    row["images"] = [url.replace(original.row["sku"].lower(), row["sku"].lower()) for url in row["images"]]
    created = ctx.now - timedelta(minutes=rng.randint(24 * 60, 90 * 24 * 60))
    row["created_at"] = row["updated_at"] = created
    return SeededProduct(row, _stock(rng, ctx.warehouse_ids), [(None, row["price"], created)])


# --- product groups and their variants ------------------------------------------------------------------------


def _axis_values(rng: random.Random, model: VariantModel, axis: str, choices: tuple[Any, ...]) -> list[Any]:
    """The values of one axis a model comes in, in the order a shop lists them."""
    if axis == "size":
        return list(APPAREL_SIZES_WIDE if rng.random() < 0.3 else APPAREL_SIZES)
    if axis == "storage_gb":
        steps = rng.randint(2, 3)
        start = rng.randint(0, len(PHONE_STORAGE_GB) - steps)
        return list(PHONE_STORAGE_GB[start:start + steps])
    low, high = model.colors
    return rng.sample(choices, rng.randint(min(low, len(choices)), min(high, len(choices))))


def _members(rng: random.Random, model: VariantModel, definitions: dict[str, Attr]) -> list[dict[str, Any]]:
    """Each variant's axis values: every combination, less one now and then that is not sold."""
    values = [_axis_values(rng, model, axis, definitions[axis].choices) for axis in model.axes]
    members = [dict(zip(model.axes, combination, strict=True)) for combination in itertools.product(*values)]
    if len(members) > 4 and rng.random() < 0.3:
        members.pop(rng.randrange(len(members)))
    return members


def _extra(model: VariantModel, values: dict[str, Any]) -> Decimal:
    return sum((model.surcharge.get(value, Decimal(0)) for value in values.values()), Decimal(0))


def _group(ctx: Context, number: int) -> SeededGroup:
    """A model sold in variants. Its shortcomings (no brand, a thin description, no photos, no category) are the
    ones feeds have, at the rate products have them, and every variant inherits them."""
    rng = ctx.rng
    model = rng.choices(VARIANT_MODELS, [m.weight for m in VARIANT_MODELS])[0]
    leaf = next(leaf for leaf in LEAVES if leaf.path == model.leaf_path)
    brand_index = rng.randrange(len(leaf.brands))
    brand, line = leaf.brands[brand_index], leaf.lines[brand_index % len(leaf.lines)]
    definitions = {a.name: a for a in _attrs_for(leaf.path)}
    shared = {name: _attribute_value(rng, a) for name, a in definitions.items() if name not in model.axes}
    defects = set()
    if rng.random() < INCOMPLETE_SHARE:
        defects.add(rng.choice(("brand", "description", "images", "category")))
    code = f"{_sku_prefix(brand, leaf)}-G{number:05d}"
    created = ctx.now - timedelta(minutes=rng.randint(91 * 24 * 60, 400 * 24 * 60))
    row = {
        "code": code,
        "name": f"{brand} {line} {_model_number(rng, leaf.model)} {rng.choice(model.titles)}",
        "description": rng.choice(("Great value.", f"{brand} {leaf.noun}.", ""))
        if "description" in defects else _description(rng, leaf, brand, line, shared),
        "brand": None if "brand" in defects else brand,
        "category_id": None if "category" in defects else ctx.category_ids[leaf.path],
        "images": [] if "images" in defects
        else [f"https://images.example.com/{code.lower()}/{n}.jpg" for n in range(1, rng.randint(2, 4) + 1)],
        "axes": list(model.axes),
        "created_at": created, "updated_at": created,
    }
    members = _members(rng, model, definitions)
    cheapest = min(_extra(model, values) for values in members)
    return SeededGroup(row, model, shared, members, _price(rng, leaf) - cheapest, _status(rng, bool(defects)),
                       "images" not in defects and rng.random() < COLOR_PHOTO_SHARE)


def plan_groups(ctx: Context, variants: int) -> list[SeededGroup]:
    """Groups with at most `variants` variants in all (the first group that would overflow ends the plan)."""
    groups: list[SeededGroup] = []
    planned = 0
    while True:
        group = _group(ctx, len(groups) + 1)
        if planned + len(group.members) > variants:
            return groups
        groups.append(group)
        planned += len(group.members)


def _sku_part(value: Any) -> str:
    return re.sub("[^A-Z0-9]", "", str(value).upper())


def _variant(ctx: Context, group: SeededGroup, values: dict[str, Any], product_id: int) -> SeededProduct:
    """One variant: its own SKU, axis values, GTIN, price, stock and (for models photographed per color)
    images; the rest it takes from its group by the rules every write follows."""
    rng = ctx.rng
    model, code = group.model, group.row["code"]
    sku = "-".join([code, *(_sku_part(values[axis]) for axis in model.axes)])
    images = []
    if group.color_photos:
        color = _sku_part(values["color"]).lower()
        images = [f"https://images.example.com/{code.lower()}/{color}-{n}.jpg" for n in range(1, rng.randint(2, 3) + 1)]
    price = group.base_price + _extra(model, values)
    own = {
        "id": product_id, "sku": sku, "name": None, "description": "", "brand": None, "category_id": None,
        "status": group.status if rng.random() >= 0.05 else "archived",  # now and then a color is discontinued
        "price": price, "currency": ctx.currency, "attributes": {**group.shared, **values, "gtin": _gtin(rng)},
        "images": images,
    }
    row = resolve(own, group.facts, (), ())
    created = group.row["created_at"]
    history = _history(rng, price, created, ctx.now)
    row["created_at"], row["updated_at"] = created, history[-1][2]
    return SeededProduct(row, _stock(rng, ctx.warehouse_ids, VARIANT_OUT_OF_STOCK_SHARE), history)


def group_context(ctx: Context, seed: int) -> Context:
    """The context groups and their variants are drawn with: a random stream of their own, so the products of
    their own are the very products (SKUs, names, prices) the same seed gave before groups existed, and the
    relevance judgments made for them stay true."""
    return dataclasses.replace(ctx, rng=random.Random(f"product-groups-{seed}"))


def own_products(products: int, groups: list[SeededGroup]) -> int:
    """How many of `products` are products of their own (the rest are the groups' variants)."""
    return products - sum(len(group.members) for group in groups)


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
            batch = [_variant(group_ctx, slot, values, first_id + index + n) for n, values in enumerate(slot.members)]
        elif recent and ctx.rng.random() < DUPLICATE_SHARE:
            batch = [_near_copy(ctx, ctx.rng.choice(recent), first_id + index, own_index)]
        else:
            batch = [_product(ctx, first_id + index, own_index)]
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
