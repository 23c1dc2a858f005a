"""Judged queries over the deterministic demo catalog (`db.seed.seed(url, N, seed=42)`), written to
`bench/relevance/demo_judgments.jsonl`.

The demo catalog is regenerated in memory with the seed's own generator (same random stream, so the same SKUs,
names, brands and categories as `seed()` writes for that N and seed); no database is needed. Grades come from
what each product is (its leaf category, brand, attributes, and which products the seed produced as near
copies of one another), never from what a search engine returns:

- `exact_name`: a product's full name -> that product 3, its near copies (same name under another SKU, the
  "<name>, by <brand>" copy, the copy with a typo) 3 as well: the same product as far as a shopper can tell.
- `typo`: the same with one typo in one word of the name.
- `brand_category`: "<brand> <noun>" ("bosch washing machine") -> every product of that brand in that leaf, 2.
- `category`: the leaf's name ("laptops") -> every product of that leaf 2 (the hand-written products of
  `products.jsonl` in that leaf too).
- `sku`: a SKU as printed and typed without dashes in lower case -> that product 3.
- `attribute`: headphone queries over the headphone attributes of both the demo and the hand-written products.

Only products the storefront can show (status active) are judged. Usage:
  .venv/bin/python -m bench.relevance.make_demo_judgments [--products 3000] [--seed 42]
"""

from __future__ import annotations

import argparse
import json
import random
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_PRODUCTS = 3000
DEFAULT_SEED = 42
OUTPUT = HERE / "demo_judgments.jsonl"

# Leaves whose brands also sell hand-written products (phones, headphones, Samsung tablet keyboards):
# "<brand> <noun>" there is judged with the hand-written set in mind, so it is left out here.
BRAND_QUERY_SKIP = {"electronics/mobile/smartphones", "electronics/mobile/headphones", "electronics/computers/tablets"}
# The word a shopper types for one product of the leaf (brand_category queries).
NOUNS = {
    "electronics/tv-video/televisions": "tv", "electronics/tv-video/projectors": "projector",
    "electronics/tv-video/soundbars": "soundbar", "electronics/computers/laptops": "laptop",
    "electronics/computers/monitors": "monitor", "electronics/computers/tablets": "tablet",
    "electronics/mobile/smartphones": "smartphone", "electronics/mobile/headphones": "headphones",
    "electronics/mobile/smartwatches": "smartwatch", "home/kitchen/coffee-machines": "coffee machine",
    "home/kitchen/blenders": "blender", "home/kitchen/cookware": "cookware", "home/furniture/sofas": "sofa",
    "home/furniture/desks": "desk", "home/furniture/office-chairs": "office chair",
    "home/appliances/vacuum-cleaners": "vacuum", "home/appliances/washing-machines": "washing machine",
    "fashion/shoes/running-shoes": "running shoes", "fashion/shoes/sneakers": "sneakers",
    "fashion/shoes/boots": "boots", "fashion/clothing/t-shirts": "t-shirt", "fashion/clothing/jeans": "jeans",
    "fashion/clothing/jackets": "jacket", "fashion/accessories/backpacks": "backpack",
    "fashion/accessories/sunglasses": "sunglasses", "sports/fitness/yoga-mats": "yoga mat",
    "sports/fitness/dumbbells": "dumbbells", "sports/cycling/bikes": "bike", "sports/cycling/helmets": "helmet",
    "sports/outdoor/tents": "tent",
}


@dataclass
class DemoProduct:
    sku: str
    name: str
    brand: str  # the brand the product is of, even when the seed left its brand field empty
    leaf: str  # the leaf it is of, even when the seed left its category empty
    status: str
    attributes: dict[str, Any]
    group: int  # products of one group are near copies of one another


def demo_products(count: int, seed: int) -> list[DemoProduct]:
    """The demo catalog `db.seed.seed(url, count, seed)` writes, product by product, with near-copy groups.

    Mirrors `db.seed.generate` call for call (same random stream), keeping which product each near copy copies.
    Only the products of their own: the groups' variants come from a random stream of their own
    (`db.seed_variants.group_context`) and are not judged here.
    """
    from db import seed_products as demo
    from db import seed_variants as variants
    from db.quality.engine import RuleSet
    from db.seed_catalog import BRANCHES, LEAVES

    paths = [b.path for b in BRANCHES] + [leaf.path for leaf in LEAVES]
    ctx = demo.Context(random.Random(seed), datetime.now(UTC), "USD", {p: i + 1 for i, p in enumerate(paths)},
                       [1, 2, 3], RuleSet({}, [], {}, {}), [leaf.weight for leaf in LEAVES])
    leaf_by_id = {i + 1: p for i, p in enumerate(paths)}
    recent: deque[tuple[demo.SeededProduct, DemoProduct]] = deque(maxlen=5000)
    out: list[DemoProduct] = []
    planned = variants.plan_groups(variants.group_context(ctx, seed), int(count * variants.VARIANT_SHARE))
    own = variants.own_products(count, planned)
    for index in range(own):
        if recent and ctx.rng.random() < demo.DUPLICATE_SHARE:
            original, original_info = ctx.rng.choice(recent)
            product = demo.near_copy(ctx, original, index + 1, index)
            info = DemoProduct(product.row["sku"], product.row["name"], original_info.brand, original_info.leaf,
                               product.row["status"], product.row["attributes"], original_info.group)
        else:
            product = demo.own_product(ctx, index + 1, index)
            row = product.row
            leaf = _leaf_of(row, leaf_by_id, LEAVES)
            brand = row["brand"] or next(b for b in _leaf(leaf, LEAVES).brands if row["name"].startswith(b + " "))
            info = DemoProduct(row["sku"], row["name"], brand, leaf, row["status"], row["attributes"], index)
        recent.append((product, info))
        out.append(info)
    return out


def _leaf(path: str, leaves: Sequence[Any]) -> Any:
    return next(leaf for leaf in leaves if leaf.path == path)


def _leaf_of(row: dict[str, Any], leaf_by_id: dict[int, str], leaves: Sequence[Any]) -> str:
    if row["category_id"] is not None:
        return leaf_by_id[row["category_id"]]
    # The seed dropped the category (a quality defect): the SKU's middle part and the brand tell the leaf.
    code = row["sku"].split("-", 1)[1].rsplit("-", 1)[0]
    candidates = [leaf for leaf in leaves if leaf.path.rpartition("/")[2][:4].upper() == code
                  and any(row["name"].startswith(f"{b} {line} ") for b in leaf.brands for line in leaf.lines)]
    assert len({c.path for c in candidates}) == 1, row["sku"]
    return str(candidates[0].path)


def typo(text: str, rng: random.Random) -> str | None:
    """One typo in one word of 5+ letters (swap, drop, double or replace a letter); None without such a word."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not candidates:
        return None
    i = rng.choice(candidates)
    word = words[i]
    at = rng.randrange(1, len(word) - 1)
    op = rng.choice(("swap", "drop", "double", "replace"))
    if op == "swap":
        word = word[:at] + word[at + 1] + word[at] + word[at + 2:]
    elif op == "drop":
        word = word[:at] + word[at + 1:]
    elif op == "double":
        word = word[:at] + word[at] + word[at:]
    else:
        word = word[:at] + ("e" if word[at].lower() != "e" else "a") + word[at + 1:]
    words[i] = word
    return " ".join(words)


def load_custom(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def judgments(products: list[DemoProduct], custom: list[dict[str, Any]], rng: random.Random,
              exact: int = 60, typos: int = 50, brand_queries: int = 45, skus: int = 12) -> list[dict[str, Any]]:
    active = [p for p in products if p.status == "active"]
    groups: dict[int, list[DemoProduct]] = {}
    for p in active:
        groups.setdefault(p.group, []).append(p)
    queries: list[dict[str, Any]] = []

    def add(kind: str, query: str, relevant: dict[str, int]) -> None:
        if relevant:
            queries.append({"query": query, "kind": kind, "relevant": relevant})

    # near copies first, so that every copy group is represented
    copied = [p for p in active if len(groups[p.group]) > 1]
    picks = rng.sample(copied, min(len(copied), exact // 4))
    rest = [p for p in active if p not in picks]
    picks += rng.sample(rest, exact - len(picks))
    for p in picks:
        add("exact_name", p.name, {q.sku: 3 for q in groups[p.group]})
    chosen = {p.sku for p in picks}
    for p in rng.sample([p for p in active if p.sku not in chosen], typos * 2):
        if (typed := typo(p.name, rng)) is not None and len([q for q in queries if q["kind"] == "typo"]) < typos:
            add("typo", typed, {q.sku: 3 for q in groups[p.group]})

    by_brand_leaf: dict[tuple[str, str], list[DemoProduct]] = {}
    for p in active:
        by_brand_leaf.setdefault((p.brand, p.leaf), []).append(p)
    pairs = sorted(k for k in by_brand_leaf if k[1] not in BRAND_QUERY_SKIP)
    for brand, leaf in rng.sample(pairs, min(brand_queries, len(pairs))):
        add("brand_category", f"{brand.lower()} {NOUNS[leaf]}", {p.sku: 2 for p in by_brand_leaf[(brand, leaf)]})

    from db.seed_catalog import LEAVES

    for leaf in LEAVES:
        relevant = {p.sku: 2 for p in active if p.leaf == leaf.path}
        relevant |= {c["sku"]: 2 for c in custom if c["category"] == leaf.path}
        add("category", leaf.name.lower(), relevant)

    for p in rng.sample(active, skus):
        add("sku", p.sku, {p.sku: 3})
        add("sku", p.sku.replace("-", "").lower(), {p.sku: 3})

    headphones = [p for p in active if p.leaf == "electronics/mobile/headphones"]
    phones_custom = [c for c in custom if c["category"] == "electronics/mobile/headphones"]

    def headphone_query(query: str, kind: str, grade_of: Any) -> None:
        relevant = {p.sku: g for p in headphones if (g := grade_of(p.brand, p.name, p.attributes))}
        relevant |= {c["sku"]: g for c in phones_custom if (g := grade_of(c["brand"], c["name"], c["attributes"]))}
        add(kind, query, relevant)

    headphone_query("headphones", "category", lambda brand, name, a: 2)
    headphone_query("wireless headphones", "attribute", lambda brand, name, a: 3 if a.get("wireless") else 1)
    headphone_query("noise cancelling headphones", "attribute",
                    lambda brand, name, a: 3 * bool(a.get("noise_cancelling")))
    headphone_query("earbuds", "category", lambda brand, name, a: 3 * (a.get("type") == "in-ear"))
    headphone_query("on ear headphones", "attribute",
                    lambda brand, name, a: {"on-ear": 3, "over-ear": 1}.get(a.get("type", ""), 0))
    headphone_query("wireless earbuds", "attribute",
                    lambda brand, name, a: 3 if a.get("type") == "in-ear" and a.get("wireless") else
                    1 if a.get("type") == "in-ear" else 0)
    headphone_query("bose quietcomfort 35", "model",
                    lambda brand, name, a: 3 if "QuietComfort 35" in name else 1 if "QuietComfort" in name else 0)
    headphone_query("sony headphones", "brand_category", lambda brand, name, a: 2 * (brand == "Sony"))
    headphone_query("apple airpods wireless earbuds authentic", "absent_word",
                    lambda brand, name, a: 3 if "AirPods" in name else
                    1 if a.get("type") == "in-ear" and a.get("wireless") else 0)
    headphone_query("earbuds for iphone", "accessory",
                    lambda brand, name, a: 3 if brand == "Apple" and a.get("type") == "in-ear" else
                    1 if a.get("type") == "in-ear" else 0)
    return queries


def write(queries: Iterable[dict[str, Any]], path: Path) -> int:
    lines = [json.dumps(q, ensure_ascii=False) for q in queries]
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=DEFAULT_PRODUCTS, help="demo catalog size N (default 3000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="demo catalog seed (default 42)")
    parser.add_argument("--out", type=Path, default=OUTPUT, help="output file (default demo_judgments.jsonl)")
    args = parser.parse_args(argv)
    products = demo_products(args.products, args.seed)
    queries = judgments(products, load_custom(HERE / "products.jsonl"), random.Random(1414))
    kinds: dict[str, int] = {}
    for q in queries:
        kinds[q["kind"]] = kinds.get(q["kind"], 0) + 1
    print(f"{write(queries, args.out)} queries -> {args.out} {kinds}")


if __name__ == "__main__":
    main()
