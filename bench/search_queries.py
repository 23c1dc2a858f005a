"""The query set of the storefront search benchmark (`bench/search.py`, `bench/api_workers.py`): built from the
catalog's own brands, categories, attribute values and product names (`catalog_facts`), a mix of text (some
misspelled), filters, browsing, sorts and deeper pages (`make_queries`)."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

import psycopg

Params = list[tuple[str, str]]


@dataclass
class CatalogFacts:
    brands: list[str]
    categories: list[str]
    attribute_pairs: list[tuple[str, str]]
    words: list[str]
    products: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    """(name, brand, category path) of up to 5000 active products: what shopper-like queries are made from."""


def catalog_facts(dsn: str) -> CatalogFacts:
    with psycopg.connect(dsn) as conn:
        brands = [r[0] for r in conn.execute(
            "SELECT brand FROM products WHERE status = 'active' AND brand IS NOT NULL "
            "GROUP BY brand ORDER BY count(*) DESC LIMIT 60")]
        categories = [r[0] for r in conn.execute("SELECT path FROM categories ORDER BY path")]
        pairs = [(r[0], r[1]) for r in conn.execute(
            "SELECT key, value #>> '{}' FROM products, jsonb_each(attributes) "
            "WHERE status = 'active' AND jsonb_typeof(value) IN ('string', 'number') "
            "GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 120")]
        products = [(r[0], r[1], r[2]) for r in conn.execute(
            "SELECT p.name, p.brand, c.path FROM products p LEFT JOIN categories c ON c.id = p.category_id "
            "WHERE p.status = 'active' ORDER BY p.id LIMIT 5000")]
    names = [name for name, _, _ in products]
    counts: dict[str, int] = {}
    for name in names:
        for word in re.findall(r"[A-Za-z]{4,}", name.lower()):
            counts[word] = counts.get(word, 0) + 1
    words = sorted(counts, key=lambda w: -counts[w])[:300]
    return CatalogFacts(brands, categories, pairs, words, products)


def misspell(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word))
    return word[:i] + rng.choice("aeiourst") + word[i + 1:]


MIXES = ("shopper", "random")
DEAD_END_SHARE = 0.15
"""In the shopper mix, the share of text queries whose words come from different products (mostly dead ends)."""


def make_queries(facts: CatalogFacts, count: int, rng: random.Random, mix: str = "shopper") -> list[Params]:
    """Mostly text, a third with filters, some browsing, sorting and deeper pages.

    `shopper`: a text query is 1-3 consecutive words of one product's name (sometimes with its brand, sometimes
    misspelled), and its category or brand filter, when it has one, is that product's; DEAD_END_SHARE of them are
    words of different products instead. `random`: every text query and every filter is drawn independently (the
    mix before 2026-12: about nine in ten text queries then find nothing as typed)."""
    def random_words() -> str:
        words = rng.sample(facts.words, rng.choice([1, 1, 2, 2, 3]))
        if rng.random() < 0.15:
            words[0] = misspell(rng, words[0])
        if rng.random() < 0.2 and facts.brands:
            words.insert(0, rng.choice(facts.brands).lower())
        return " ".join(words)

    def product_words(name: str, brand: str | None) -> str:
        words = re.findall(r"[A-Za-z0-9]+", name.lower())
        size = min(len(words), rng.choice([1, 2, 2, 3, 3]))
        start = rng.randrange(0, len(words) - size + 1)
        chosen = words[start:start + size]
        long_words = [i for i, w in enumerate(chosen) if len(w) >= 4 and w.isalpha()]
        if long_words and rng.random() < 0.15:
            i = rng.choice(long_words)
            chosen[i] = misspell(rng, chosen[i])
        if brand and rng.random() < 0.2 and brand.lower() not in chosen:
            chosen.insert(0, brand.lower())
        return " ".join(chosen)

    queries: list[Params] = []
    for _ in range(count):
        params: Params = []
        kind = rng.random()
        source = rng.choice(facts.products) if facts.products and mix == "shopper" else None
        if source is not None and rng.random() < DEAD_END_SHARE:
            source = None
            text = random_words()
        elif source is not None:
            text = product_words(source[0], source[1])
        else:
            text = random_words()
        if kind < 0.6:
            params.append(("q", text))
        own = source is not None and kind < 0.6
        if kind >= 0.45 or rng.random() < 0.3:
            path = source[2] if own and source and source[2] else None
            if path:  # a level of the product's own category, as a shopper narrows with the facet
                levels = path.split("/")
                params.append(("category", "/".join(levels[:rng.randint(1, len(levels))])))
            else:
                params.append(("category", rng.choice(facts.categories)))
        if rng.random() < 0.25 and facts.brands:
            if own and source and source[1]:
                params.append(("brand", source[1]))
            else:
                params += [("brand", b) for b in rng.sample(facts.brands, rng.choice([1, 1, 2]))]
        if rng.random() < 0.2 and facts.attribute_pairs and not own:  # a shopper picks values their results have
            key, value = rng.choice(facts.attribute_pairs)
            params.append((f"attr.{key}", value))
        if rng.random() < 0.15:
            params += [("price_min", "20"), ("price_max", str(rng.choice([100, 250, 500])))]
        if rng.random() < 0.1:
            params.append(("in_stock", "true"))
        if rng.random() < 0.2:
            params.append(("sort", rng.choice(["price_asc", "price_desc", "newest", "name"])))
        if rng.random() < 0.1:
            params.append(("page", "2"))
        queries.append(params)
    return queries
