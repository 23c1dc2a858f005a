"""The demo catalog's products of their own, drawn from a seeded random stream (no I/O): names, brands,
attributes, prices, descriptions, stock and price history as `db.seed_catalog` describes each leaf category, with
the shortcomings feeds have (`INCOMPLETE_SHARE` of them miss a brand, a description, photos, a required attribute,
a category or a price) and now and then a near copy of an earlier product (`DUPLICATE_SHARE`)."""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from db import quality
from db.seed_catalog import BRANCHES, DESCRIPTION_SENTENCES, LEAVES, Attr, Leaf

INCOMPLETE_SHARE = 0.15
OUT_OF_STOCK_SHARE = 0.08
PRICE_CHANGE_SHARE = 0.04
DUPLICATE_SHARE = 0.01
DEFECTS: tuple[tuple[str, int], ...] = (
    ("brand", 20), ("description", 25), ("images", 20), ("attribute", 20), ("category", 10), ("price", 5),
)


@dataclass
class SeededProduct:
    row: dict[str, Any]
    stock: list[tuple[int, int, int]]  # (warehouse_id, on_hand, reserved)
    history: list[tuple[Decimal | None, Decimal, datetime]] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    rng: random.Random
    now: datetime
    currency: str
    category_ids: dict[str, int]
    warehouse_ids: list[int]
    rules: quality.RuleSet
    leaf_weights: list[int]


@cache
def attrs_for(path: str) -> tuple[Attr, ...]:
    """Attribute definitions that apply to a leaf: its ancestors' and its own (asked once per product)."""
    inherited = [a for b in BRANCHES if path.startswith(b.path + "/") for a in b.attrs]
    own = next((leaf.attrs for leaf in LEAVES if leaf.path == path), ())
    return (*inherited, *own)


def model_number(rng: random.Random, pattern: str) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXZ") if ch == "A" else str(rng.randrange(10)) if ch == "9"
                   else ch for ch in pattern)


def attribute_value(rng: random.Random, attr: Attr) -> Any:
    if attr.type == "list":
        return sorted(rng.sample(attr.choices, rng.randint(1, min(3, len(attr.choices)))))
    return rng.choice(attr.choices)


def gtin(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(12)]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits)) + str(check)


def _format(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def price_for(rng: random.Random, leaf: Leaf) -> Decimal:
    raw = leaf.median_price * math.exp(rng.gauss(0, leaf.price_sigma))
    if raw < 20:
        return Decimal(f"{max(raw, 1):.2f}").quantize(Decimal("0.01"))
    return Decimal(max(round(raw / 10) * 10, 20)) - Decimal("0.01")  # 649.99-style price points


def description_for(rng: random.Random, leaf: Leaf, brand: str, line: str, attributes: dict[str, Any]) -> str:
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
    if "attribute" in chosen and not any(a.required for a in attrs_for(leaf.path)):
        chosen = (chosen - {"attribute"}) | {"description"}
    return chosen


def status_for(rng: random.Random, incomplete: bool) -> str:
    if incomplete:
        return rng.choices(("draft", "active", "archived"), (45, 50, 5))[0]
    return rng.choices(("active", "draft", "archived"), (88, 7, 5))[0]


def stock_for(rng: random.Random, warehouses: list[int], out_of_stock_share: float = OUT_OF_STOCK_SHARE
           ) -> list[tuple[int, int, int]]:
    stocked = sorted(rng.sample(warehouses, rng.randint(1, len(warehouses))))
    if rng.random() < out_of_stock_share:
        return [(w, (n := rng.choice((0, 0, 0, 2, 5))), n) for w in stocked]  # nothing available anywhere
    rows = []
    for w in stocked:
        on_hand = max(1, int(math.exp(rng.gauss(3.2, 1.0))))
        rows.append((w, on_hand, rng.randint(0, on_hand // 4)))
    return rows


def history_for(rng: random.Random, price: Decimal, created: datetime, now: datetime
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


def sku_prefix(brand: str, leaf: Leaf) -> str:
    return f"{re.sub('[^A-Z0-9]', 'X', brand[:3].upper())}-{leaf.path.rpartition('/')[2][:4].upper()}"


def own_product(ctx: Context, product_id: int, index: int) -> SeededProduct:
    rng = ctx.rng
    leaf = rng.choices(LEAVES, ctx.leaf_weights)[0]
    defects = _defects(rng, leaf)
    brand_index = rng.randrange(len(leaf.brands))
    brand = leaf.brands[brand_index]
    line = leaf.lines[(brand_index + (rng.random() < 0.3)) % len(leaf.lines)]  # each brand keeps its lines
    attributes = {a.name: attribute_value(rng, a) for a in attrs_for(leaf.path)}
    attributes["gtin"] = gtin(rng)
    spec = leaf.spec.format_map({k: _format(v) for k, v in attributes.items()})
    name = f"{brand} {line} {model_number(rng, leaf.model)} {spec}"
    if "attribute" in defects:
        required = [a.name for a in attrs_for(leaf.path) if a.required]
        attributes.pop(rng.choice(required))
    price = Decimal(0) if "price" in defects else price_for(rng, leaf)
    created = ctx.now - timedelta(minutes=rng.randint(91 * 24 * 60, 400 * 24 * 60))
    sku = f"{sku_prefix(brand, leaf)}-{index:07d}"
    row = {
        "id": product_id, "sku": sku, "name": name,
        "description": rng.choice(("Great value.", f"{brand} {leaf.noun}.", ""))
        if "description" in defects else description_for(rng, leaf, brand, line, attributes),
        "brand": None if "brand" in defects else brand,
        "category_id": None if "category" in defects else ctx.category_ids[leaf.path],
        "status": status_for(rng, bool(defects)), "price": price, "currency": ctx.currency,
        "attributes": attributes,
        "images": [] if "images" in defects
        else [f"https://images.example.com/{sku.lower()}/{n}.jpg" for n in range(1, rng.randint(2, 5) + 1)],
        "group_id": None, "inherited": [], "variant_key": None,
    }
    history = history_for(rng, price, created, ctx.now)
    row["created_at"], row["updated_at"] = created, history[-1][2]
    return SeededProduct(row, stock_for(rng, ctx.warehouse_ids), history)


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


def near_copy(ctx: Context, original: SeededProduct, product_id: int, index: int) -> SeededProduct:
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
        row["attributes"]["gtin"] = gtin(rng)
        if kind == "typo":
            row["name"] = _typo(rng, row["name"])
    row["images"] = [url.replace(original.row["sku"].lower(), row["sku"].lower()) for url in row["images"]]
    created = ctx.now - timedelta(minutes=rng.randint(24 * 60, 90 * 24 * 60))
    row["created_at"] = row["updated_at"] = created
    return SeededProduct(row, stock_for(rng, ctx.warehouse_ids), [(None, row["price"], created)])
