"""The demo catalog's product groups and their variants, drawn from a random stream of their own (no I/O):
t-shirts and hoodies in colors x sizes, phones in storage x colors (`db.seed_catalog.VARIANT_MODELS`). A variant's
row is what `db.variants.resolve` makes of it, the rule every other write follows."""

from __future__ import annotations

import dataclasses
import itertools
import random
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

from db import seed_products as drawn
from db.seed_catalog import (
    APPAREL_SIZES,
    APPAREL_SIZES_WIDE,
    LEAVES,
    PHONE_STORAGE_GB,
    VARIANT_MODELS,
    Attr,
    VariantModel,
)
from db.seed_products import INCOMPLETE_SHARE, Context, SeededProduct
from db.variants import GroupFacts, resolve

VARIANT_SHARE = 0.15
VARIANT_OUT_OF_STOCK_SHARE = 0.15  # a color in one size sells out more often than a whole model
COLOR_PHOTO_SHARE = 0.6  # models photographed in each color; the others' variants share the group's images


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
    definitions = {a.name: a for a in drawn.attrs_for(leaf.path)}
    shared = {name: drawn.attribute_value(rng, a) for name, a in definitions.items() if name not in model.axes}
    defects = set()
    if rng.random() < INCOMPLETE_SHARE:
        defects.add(rng.choice(("brand", "description", "images", "category")))
    code = f"{drawn.sku_prefix(brand, leaf)}-G{number:05d}"
    created = ctx.now - timedelta(minutes=rng.randint(91 * 24 * 60, 400 * 24 * 60))
    row = {
        "code": code,
        "name": f"{brand} {line} {drawn.model_number(rng, leaf.model)} {rng.choice(model.titles)}",
        "description": rng.choice(("Great value.", f"{brand} {leaf.noun}.", ""))
        if "description" in defects else drawn.description_for(rng, leaf, brand, line, shared),
        "brand": None if "brand" in defects else brand,
        "category_id": None if "category" in defects else ctx.category_ids[leaf.path],
        "images": [] if "images" in defects
        else [f"https://images.example.com/{code.lower()}/{n}.jpg" for n in range(1, rng.randint(2, 4) + 1)],
        "axes": list(model.axes),
        "created_at": created, "updated_at": created,
    }
    members = _members(rng, model, definitions)
    cheapest = min(_extra(model, values) for values in members)
    base_price, status = drawn.price_for(rng, leaf) - cheapest, drawn.status_for(rng, bool(defects))
    return SeededGroup(row, model, shared, members, base_price, status,
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


def variant(ctx: Context, group: SeededGroup, values: dict[str, Any], product_id: int) -> SeededProduct:
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
        "price": price, "currency": ctx.currency, "attributes": {**group.shared, **values, "gtin": drawn.gtin(rng)},
        "images": images,
    }
    row = resolve(own, group.facts, (), ())
    created = group.row["created_at"]
    history = drawn.history_for(rng, price, created, ctx.now)
    row["created_at"], row["updated_at"] = created, history[-1][2]
    return SeededProduct(row, drawn.stock_for(rng, ctx.warehouse_ids, VARIANT_OUT_OF_STOCK_SHARE), history)


def group_context(ctx: Context, seed: int) -> Context:
    """The context groups and their variants are drawn with: a random stream of their own, so the products of
    their own are the very products (SKUs, names, prices) the same seed gave before groups existed, and the
    relevance judgments made for them stay true."""
    return dataclasses.replace(ctx, rng=random.Random(f"product-groups-{seed}"))


def own_products(products: int, groups: list[SeededGroup]) -> int:
    """How many of `products` are products of their own (the rest are the groups' variants)."""
    return products - sum(len(group.members) for group in groups)
