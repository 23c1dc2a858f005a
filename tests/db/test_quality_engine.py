"""The completeness engine: exact scores and missing fields, inherited rules, recomputation after a rule change,
daily snapshots and the duplicates finder, against the real PostgreSQL test database."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from catalog.cli.quality import app as quality_app
from db import quality
from db.models import Product
from db.quality.engine import CategoryNode, QualityResult, Rule, RuleSet
from tests.helpers.catalog_rows import CatalogRows

# --- pure scoring on a hand-built rule set ---------------------------------------------------------------------

ELECTRONICS, TV, FASHION = 1, 2, 3


def rule_set(global_rules: list[Rule] | None = None) -> RuleSet:
    """electronics > tv, and fashion; electronics tightens description, tv adds a weighted attribute rule."""
    categories = {ELECTRONICS: CategoryNode(ELECTRONICS, None, "electronics"),
                  TV: CategoryNode(TV, ELECTRONICS, "electronics/tv"),
                  FASHION: CategoryNode(FASHION, None, "fashion")}
    defaults = [Rule("brand"), Rule("description", min_length=10), Rule("images"), Rule("price"), Rule("category")]
    return RuleSet(
        categories,
        defaults if global_rules is None else global_rules,
        {ELECTRONICS: [Rule("description", Decimal(2), 20)], TV: [Rule("attributes.panel", Decimal(3))]},
        {ELECTRONICS: ["warranty"], TV: ["screen_size"]},
    )


def product(**fields: Any) -> dict[str, Any]:
    """A product that satisfies every rule of `rule_set()` for a TV; override fields to break rules."""
    base: dict[str, Any] = {
        "category_id": TV, "brand": "Acme", "description": "A television with a very good picture.",
        "images": ["https://img.example/1.jpg"], "price": Decimal("499.00"),
        "attributes": {"panel": "OLED", "warranty": 2, "screen_size": 55},
    }
    return {**base, **fields}


def test_effective_rules_inherit_global_ancestor_and_own_rules_in_order() -> None:
    rules = rule_set().rules_for(TV)

    assert [r.field for r in rules] == ["brand", "description", "images", "price", "category", "attributes.panel",
                                        "attributes.warranty", "attributes.screen_size"]
    assert rules[1] == Rule("description", Decimal(2), 20)  # the deeper definition wins, in the first position


def test_complete_product_scores_100_with_nothing_missing() -> None:
    assert quality.evaluate(product(), rule_set()) == QualityResult(100, [])


def test_weighted_score_and_missing_fields_in_rule_order() -> None:
    # weights: brand 1, description 2, images 1, price 1, category 1, panel 3, warranty 1, screen_size 1 = 11
    broken = product(brand=None, description="Short text, 15", attributes={"warranty": 2, "screen_size": 55})

    result = quality.evaluate(broken, rule_set())

    assert result == QualityResult(45, ["brand", "description", "attributes.panel"])  # 5/11 = 45.45%


def test_the_same_product_in_another_branch_only_gets_the_global_rules() -> None:
    broken = product(category_id=FASHION, brand=None, description="Short text, 15", attributes={})

    assert quality.evaluate(broken, rule_set()) == QualityResult(80, ["brand"])


def test_a_product_without_category_is_incomplete() -> None:
    assert quality.evaluate(product(category_id=None), rule_set()) == QualityResult(80, ["category"])


def test_category_is_required_even_when_no_rule_names_it() -> None:
    rules = rule_set(global_rules=[Rule("brand")])

    assert quality.evaluate(product(category_id=None, brand=""), rules) == QualityResult(0, ["category", "brand"])
    assert quality.evaluate(product(category_id=FASHION), rules) == QualityResult(100, [])


@pytest.mark.parametrize("value", [None, "", "   ", [], {}])
def test_empty_attribute_values_are_missing(value: Any) -> None:
    attributes = {"panel": value, "warranty": 2, "screen_size": 55}

    assert quality.evaluate(product(attributes=attributes), rule_set()).missing_fields == ["attributes.panel"]


@pytest.mark.parametrize("value", [0, False, "LED", ["a"]])
def test_zero_and_false_are_answers(value: Any) -> None:
    attributes = {"panel": value, "warranty": 2, "screen_size": 55}

    assert quality.evaluate(product(attributes=attributes), rule_set()).completeness == 100


def test_zero_price_blank_image_urls_and_whitespace_descriptions_are_missing() -> None:
    broken = product(price=Decimal("0.00"), images=["  "], description=" " * 40)

    assert quality.evaluate(broken, rule_set()).missing_fields == ["description", "images", "price"]


def test_image_rule_min_length_counts_images() -> None:
    rules = rule_set(global_rules=[Rule("images", min_length=2)])

    assert quality.evaluate(product(), rules).missing_fields == ["images"]
    assert quality.evaluate(product(images=["a.jpg", "b.jpg"]), rules).missing_fields == []


def test_a_tiny_missing_weight_never_rounds_up_to_complete() -> None:
    rules = rule_set(global_rules=[Rule("brand", Decimal("0.01")), Rule("price", Decimal(100))])

    assert quality.evaluate(product(category_id=FASHION, brand=None), rules) == QualityResult(99, ["brand"])


def test_halves_round_up() -> None:
    weighted = rule_set(global_rules=[Rule("category", Decimal(7)), Rule("brand")])

    assert quality.evaluate(product(category_id=FASHION, brand=None), weighted) == QualityResult(88, ["brand"])


def test_evaluate_reads_product_objects_too() -> None:
    model = Product(sku="X-1", name="TV", brand=None, category_id=TV, price=Decimal(10), currency="USD",
                    description="A television with a very good picture.", images=["https://img.example/1.jpg"],
                    attributes={"panel": "OLED", "warranty": 1, "screen_size": 40})

    assert quality.evaluate(model, rule_set()) == QualityResult(91, ["brand"])  # 10/11


@pytest.mark.parametrize("name", ["brand", "description", "images", "price", "category", "attributes.screen_size"])
def test_known_rule_fields_are_accepted(name: str) -> None:
    quality.validate_rule_field(name)


@pytest.mark.parametrize("name", ["colour", "attributes.", "attributes.Screen-Size", "stock"])
def test_unknown_rule_fields_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="unknown quality field"):
        quality.validate_rule_field(name)


# --- against the database ---------------------------------------------------------------------------------------


def ready_to_sell(rows: CatalogRows, status: str, completeness: int, price: Decimal, available: int) -> bool:
    """`ready_to_sell_sql` (what the snapshots, the quality report and the dashboard count) for one product."""
    product_id = rows.product(status=status, completeness=completeness, price=price)
    rows.stock(product_id, on_hand=available + 2, reserved=2)
    return bool(rows.scalar(f"SELECT {quality.ready_to_sell_sql('p')} FROM products p WHERE p.id = %s",
                            (product_id,)))


def test_ready_to_sell_needs_active_complete_priced_and_available(catalog_rows: CatalogRows) -> None:
    assert ready_to_sell(catalog_rows, "active", 100, Decimal("1.00"), 3)
    assert not ready_to_sell(catalog_rows, "draft", 100, Decimal("1.00"), 3)
    assert not ready_to_sell(catalog_rows, "active", 99, Decimal("1.00"), 3)
    assert not ready_to_sell(catalog_rows, "active", 100, Decimal("0"), 3)
    assert not ready_to_sell(catalog_rows, "active", 100, Decimal("1.00"), 0)


def full_fields(**overrides: Any) -> dict[str, Any]:
    """Fields that satisfy the catalog-wide default rules (migration 0002)."""
    base = {"brand": "Acme", "description": "A sturdy, well-made product that does exactly what it promises.",
            "images": ["https://img.example/p.jpg"], "price": "25.00", "attributes": {}}
    return {**base, **overrides}


def scored_product(rows: CatalogRows, engine: Engine, **fields: Any) -> int:
    """Insert a product with the score the engine gives it under the current rules, as the API would."""
    with engine.connect() as connection:
        result = quality.evaluate(fields, quality.load_rules(connection))
    return rows.product(**fields, completeness=result.completeness, missing_fields=result.missing_fields)


def stored(rows: CatalogRows, product_id: int) -> tuple[int, list[str], int]:
    row = rows.conn.execute("SELECT completeness, missing_fields, version FROM products WHERE id = %s",
                            (product_id,)).fetchone()
    assert row is not None
    return row[0], list(row[1]), row[2]


def test_load_rules_reads_rules_and_required_attributes_of_the_tree(catalog_rows: CatalogRows, engine: Engine,
                                                                    unique: str) -> None:
    parent = catalog_rows.category(f"lr-{unique}")
    child = catalog_rows.category(f"lr-{unique}/tv")
    catalog_rows.conn.execute("INSERT INTO quality_rules (category_id, field, weight) VALUES (%s, 'attributes.hdr', 2)",
                              (child,))
    catalog_rows.conn.execute("INSERT INTO category_attributes (category_id, name, type, required) VALUES "
                              "(%s, 'warranty', 'number', true), (%s, 'color', 'string', false), "
                              "(%s, 'screen_size', 'number', true)", (parent, parent, child))

    with engine.connect() as connection:
        rules = quality.load_rules(connection)

    assert [(r.field, r.weight) for r in rules.rules_for(child)][-3:] == [
        ("attributes.hdr", Decimal(2)), ("attributes.warranty", Decimal(1)), ("attributes.screen_size", Decimal(1))]
    assert "attributes.screen_size" not in [r.field for r in rules.rules_for(parent)]
    assert rules.subtree([parent]) == {parent, child}


def test_rule_change_recomputes_only_affected_products(catalog_rows: CatalogRows, engine: Engine,
                                                       unique: str) -> None:
    shoes = catalog_rows.category(f"rc-{unique}")
    boots = catalog_rows.category(f"rc-{unique}/boots")
    bags = catalog_rows.category(f"rc2-{unique}")
    shoe = scored_product(catalog_rows, engine, **full_fields(category_id=shoes))
    boot_without_size = scored_product(catalog_rows, engine, **full_fields(category_id=boots))
    boot_with_size = scored_product(catalog_rows, engine, **full_fields(category_id=boots, attributes={"size": 42}))
    bag = scored_product(catalog_rows, engine, **full_fields(category_id=bags))
    before = {p: stored(catalog_rows, p) for p in (shoe, boot_without_size, boot_with_size, bag)}
    assert all(score == (100, [], 1) for score in before.values())

    catalog_rows.conn.execute("INSERT INTO category_attributes (category_id, name, type, required) "
                              "VALUES (%s, 'size', 'number', true)", (shoes,))
    changed = quality.recompute_for_categories(engine, [shoes])

    assert changed == 2
    assert stored(catalog_rows, shoe) == (83, ["attributes.size"], 2)  # 5 of 6 default-weight rules
    assert stored(catalog_rows, boot_without_size) == (83, ["attributes.size"], 2)
    assert stored(catalog_rows, boot_with_size) == before[boot_with_size]  # same score: not even touched
    assert stored(catalog_rows, bag) == before[bag]
    assert quality.recompute_for_categories(engine, [shoes]) == 0


def test_recompute_of_a_category_without_products_changes_nothing(catalog_rows: CatalogRows,
                                                                  engine: Engine, unique: str) -> None:
    empty = catalog_rows.category(f"empty-{unique}")

    assert quality.recompute_for_categories(engine, [empty]) == 0
    assert quality.recompute_for_categories(engine, [-1]) == 0


def test_snapshot_counts_each_category_subtree_and_is_idempotent(catalog_rows: CatalogRows, engine: Engine,
                                                                 unique: str) -> None:
    root = catalog_rows.category(f"snap-{unique}")
    leaf = catalog_rows.category(f"snap-{unique}/leaf")
    ready = scored_product(catalog_rows, engine, **full_fields(category_id=leaf))
    catalog_rows.stock(ready, on_hand=5, reserved=1, warehouse=f"W{unique.upper()}")
    complete_without_stock = scored_product(catalog_rows, engine, **full_fields(category_id=leaf))
    scored_product(catalog_rows, engine, **full_fields(category_id=root, brand=None))
    scored_product(catalog_rows, engine, **full_fields(category_id=root, status="archived"))  # not counted
    day = date(2001, 1, 1 + random.randrange(28))
    assert complete_without_stock

    quality.take_snapshot(engine, day)
    quality.take_snapshot(engine, day)

    rows = {row[0]: tuple(row[1:]) for row in catalog_rows.conn.execute(
        "SELECT category_id, products, avg_completeness, complete_pct, ready_to_sell_pct FROM quality_snapshots "
        "WHERE taken_on = %s AND category_id = ANY(%s)", (day, [root, leaf]))}
    # brand missing: 4 of 5 default rules -> 80
    assert rows[root] == (3, Decimal("93.33"), Decimal("66.67"), Decimal("33.33"))
    assert rows[leaf] == (2, Decimal("100.00"), Decimal("100.00"), Decimal("50.00"))
    assert catalog_rows.scalar("SELECT count(*) FROM quality_snapshots WHERE taken_on = %s AND category_id = %s",
                               (day, quality.CATALOG_WIDE)) == 1


def test_snapshot_command_records_the_given_day(engine: Engine) -> None:
    result = CliRunner().invoke(quality_app, ["snapshot", "--day", "2002-02-02"])

    assert result.exit_code == 0, result.output
    with engine.connect() as connection:
        count = connection.exec_driver_sql(
            "SELECT count(*) FROM quality_snapshots WHERE taken_on = '2002-02-02'").scalar()
    assert count and count >= 1


def test_recompute_command_needs_a_target() -> None:
    assert CliRunner().invoke(quality_app, ["recompute"]).exit_code == 2


def gtin(rng: random.Random) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(13))


def test_duplicates_found_by_name_gtin_and_similarity_and_distinct_products_not(
        catalog_rows: CatalogRows, engine: Engine, unique: str) -> None:
    brand = f"Dup{unique}"
    code = gtin(random.Random(unique))

    def make(name: str, **attrs: str) -> int:
        return catalog_rows.product(name=name, brand=brand, attributes=attrs)

    same_a, same_b = make(f"{brand} Rocket X100 Blender 1200W"), make(f"{brand}  rocket x100 blender, 1200W")
    gtin_a, gtin_b = make(f"{brand} Toaster T5 Red", gtin=code), make(f"T5 toaster in red by {brand}", ean="0" + code)
    kettle, typo = make(f"{brand} Kettle K2000 Stainless 1.7L"), make(f"{brand} Kettel K2000 Stainless 1.7L")
    other_model = make(f"{brand} Kettle K3000 Stainless 1.7L")
    make(f"{brand} Mixer M10 Black")

    page = quality.find_duplicates(engine, brand=brand)

    found = [(group.reason, {p.id for p in group.products}) for group in page.groups]
    assert found == [("same_gtin", {gtin_a, gtin_b}), ("same_name_brand", {same_a, same_b}),
                     ("similar_name", {kettle, typo})]
    assert page.total == 3
    assert page.groups[0].key == code.lstrip("0")
    assert other_model not in {p.id for group in page.groups for p in group.products}


def test_duplicates_are_paginated(catalog_rows: CatalogRows, engine: Engine, unique: str) -> None:
    brand = f"Page{unique}"
    for n in range(3):
        for _ in range(2):
            catalog_rows.product(name=f"{brand} Lamp L{n}00 White", brand=brand)

    first = quality.find_duplicates(engine, brand=brand, limit=2)
    rest = quality.find_duplicates(engine, brand=brand, offset=2, limit=2)

    assert (first.total, len(first.groups), rest.total, len(rest.groups)) == (3, 2, 3, 1)
    assert [g.products[0].name for g in first.groups + rest.groups] == [f"{brand} Lamp L{n}00 White" for n in range(3)]


def test_duplicates_scope_to_a_category_subtree(catalog_rows: CatalogRows, engine: Engine, unique: str) -> None:
    here = catalog_rows.category(f"dupscope-{unique}/leaf")
    elsewhere = catalog_rows.category(f"dupscope2-{unique}")
    for category in (here, here, elsewhere, elsewhere):
        catalog_rows.product(name=f"Scoped {unique} Chair C100", brand=f"S{unique}", category_id=category)

    page = quality.find_duplicates(engine, category_id=catalog_rows.category(f"dupscope-{unique}"))

    assert [{p.category_id for p in g.products} for g in page.groups] == [{here}]


def test_similar_to_uses_the_trigram_index_for_one_product(catalog_rows: CatalogRows, engine: Engine,
                                                           unique: str) -> None:
    anchor = catalog_rows.product(name=f"Zq{unique} Espresso Machine Barista Pro 9000", brand="Z")
    near = catalog_rows.product(name=f"Zq{unique} Espresso Machine Barista Pro 9000 (EU)", brand="Z")
    catalog_rows.product(name=f"Zq{unique} Garden Hose 25m", brand="Z")

    found = quality.similar_to(engine, anchor, threshold=0.7)

    assert [p.id for p, _ in found] == [near]
