"""The demo catalog: deterministic, the promised shape, scored by the quality engine, visible to the indexer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, pool

from catalog.settings import Settings
from db import quality
from db.migrate import upgrade
from db.seed import CatalogNotEmptyError, seed, seed_if_empty
from db.variants import GroupFacts, variant_key
from stack.postgres_server import drop_database, recreate_database

PRODUCTS = 2000

CHECKSUM_SQL = """
SELECT md5(string_agg(line, '|' ORDER BY line)) FROM (
    SELECT concat_ws(',', p.sku, p.name, p.description, p.brand, c.path, p.status, p.price, p.currency,
                     p.attributes::text, p.images::text, p.completeness, p.missing_fields::text, g.code,
                     p.inherited::text, p.variant_key) AS line
    FROM products p LEFT JOIN categories c ON c.id = p.category_id LEFT JOIN product_groups g ON g.id = p.group_id
    UNION ALL
    SELECT concat_ws(',', g.code, g.name, g.description, g.brand, c.path, g.images::text, g.axes::text)
    FROM product_groups g LEFT JOIN categories c ON c.id = g.category_id
    UNION ALL
    SELECT concat_ws(',', p.sku, w.code, i.on_hand, i.reserved)
    FROM inventory i JOIN products p ON p.id = i.product_id JOIN warehouses w ON w.id = i.warehouse_id
    UNION ALL
    SELECT concat_ws(',', h.sku, h.old_price, h.new_price) FROM price_history h
    UNION ALL
    SELECT concat_ws(',', c.path, a.name, a.type, a.required, a.allowed_values::text)
    FROM category_attributes a JOIN categories c ON c.id = a.category_id
) lines
"""


def scratch_database(settings: Settings, name: str) -> str:
    recreate_database(settings, name)
    url = settings.database_url_for(name)
    upgrade(url)
    return url


@pytest.fixture(scope="module")
def seeded(database: str, settings: Settings) -> Iterator[tuple[str, str]]:
    """Two scratch databases seeded with the same seed; the session's own database stays untouched."""
    names = [f"{settings.postgres_db}_seed_{n}" for n in (1, 2)]
    urls = [scratch_database(settings, name) for name in names]
    for url in urls:
        assert seed(url, PRODUCTS, seed=7) == PRODUCTS
    yield urls[0], urls[1]
    for name in names:
        drop_database(settings, name)


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def scalar(url: str, sql: str) -> Any:
    with connect(url) as conn:
        row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_same_seed_gives_the_same_catalog(seeded: tuple[str, str]) -> None:
    first, second = seeded

    assert scalar(first, CHECKSUM_SQL) == scalar(second, CHECKSUM_SQL)


def test_another_seed_gives_another_catalog(seeded: tuple[str, str], settings: Settings) -> None:
    name = f"{settings.postgres_db}_seed_3"
    url = scratch_database(settings, name)
    try:
        seed(url, 200, seed=8)
        assert scalar(url, CHECKSUM_SQL) != scalar(seeded[0], CHECKSUM_SQL)
    finally:
        drop_database(settings, name)


def test_category_tree_has_branches_leaves_and_definitions(seeded: tuple[str, str]) -> None:
    url = seeded[0]

    assert scalar(url, "SELECT count(*) FROM categories WHERE parent_id IS NULL") == 4
    assert scalar(url, "SELECT max(depth) FROM categories") == 2
    leaves = scalar(url, "SELECT count(*) FROM categories c WHERE NOT EXISTS "
                         "(SELECT 1 FROM categories k WHERE k.parent_id = c.id)")
    assert isinstance(leaves, int) and 25 <= leaves <= 35
    assert scalar(url, "SELECT allowed_values FROM category_attributes a JOIN categories c ON c.id = a.category_id "
                       "WHERE c.path = 'electronics/tv-video/televisions' AND a.name = 'resolution'") == [
        "HD", "Full HD", "4K UHD", "8K UHD"]
    assert scalar(url, "SELECT count(*) FROM quality_rules WHERE category_id IS NOT NULL") >= 1


def test_about_15_percent_are_incomplete_in_varied_ways(seeded: tuple[str, str]) -> None:
    url = seeded[0]
    share = scalar(url, "SELECT avg((completeness < 100)::int) FROM products")
    with connect(url) as conn:
        missing = {row[0] for row in conn.execute("SELECT DISTINCT unnest(missing_fields) FROM products")}

    assert 0.10 <= float(share) <= 0.20
    assert {"brand", "description", "images", "category", "price"} <= missing
    assert any(name.startswith("attributes.") for name in missing)


def test_stored_scores_are_the_quality_engines(seeded: tuple[str, str]) -> None:
    engine = create_engine(seeded[0], poolclass=pool.NullPool)

    assert quality.recompute_all(engine) == 0


def test_three_warehouses_with_some_products_out_of_stock(seeded: tuple[str, str]) -> None:
    url = seeded[0]
    out_of_stock = scalar(url, "SELECT avg((available = 0)::int) FROM (SELECT sum(on_hand - reserved) AS available "
                               "FROM inventory GROUP BY product_id) s")

    assert scalar(url, "SELECT count(*) FROM warehouses") == 3
    assert scalar(url, "SELECT count(DISTINCT product_id) FROM inventory") == PRODUCTS
    assert 0.04 <= float(out_of_stock) <= 0.12


def test_statuses_prices_and_history(seeded: tuple[str, str]) -> None:
    url = seeded[0]
    with connect(url) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM products GROUP BY status").fetchall())
        changed = conn.execute("SELECT count(DISTINCT product_id), min(changed_at) FROM price_history "
                               "WHERE old_price IS NOT NULL").fetchone()
        current = conn.execute("""
            SELECT count(*) FROM products p WHERE p.price <> (
                SELECT new_price FROM price_history h WHERE h.product_id = p.id ORDER BY changed_at DESC, id DESC
                LIMIT 1)""").fetchone()
    assert changed is not None and current is not None

    assert set(statuses) == {"active", "draft", "archived"} and statuses["active"] > PRODUCTS * 0.7
    assert 0.02 * PRODUCTS <= changed[0] <= 0.07 * PRODUCTS
    assert changed[1] > datetime.now(UTC) - timedelta(days=91)
    assert current[0] == 0  # the latest history row is the product's price
    assert scalar(url, "SELECT count(*) FROM price_history WHERE old_price IS NULL") == PRODUCTS


def test_seeded_catalog_contains_likely_duplicates(seeded: tuple[str, str]) -> None:
    engine = create_engine(seeded[0], poolclass=pool.NullPool)

    reasons = {group.reason for group in quality.find_duplicates(engine, limit=1000).groups}

    assert reasons == {"same_gtin", "same_name_brand", "similar_name"}


def test_every_product_is_queued_for_the_indexer_and_triggers_are_back_on(seeded: tuple[str, str]) -> None:
    url = seeded[0]

    assert scalar(url, "SELECT count(DISTINCT product_id) FROM outbox WHERE processed_at IS NULL") == PRODUCTS
    assert scalar(url, "SELECT string_agg(tgenabled::text, '') FROM pg_trigger "
                       "WHERE tgname IN ('products_after_write', 'inventory_after_write')") == "OO"
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:  # rolled back
        conn.execute("UPDATE products SET price = price + 1 WHERE id = (SELECT min(id) FROM products)")
        row = conn.execute("SELECT count(*) FROM outbox").fetchone()
        conn.rollback()
    assert row is not None and row[0] == PRODUCTS + 1


def variants_by_group(url: str) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each group (by code) with its variants, as rows."""
    with connect(url) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        groups = {g["id"]: g for g in cur.execute("SELECT * FROM product_groups ORDER BY id")}
        variants = cur.execute("SELECT p.*, (SELECT sum(on_hand - reserved) FROM inventory i "
                               "WHERE i.product_id = p.id) AS available "
                               "FROM products p WHERE group_id IS NOT NULL ORDER BY id").fetchall()
    found: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {g["code"]: (g, []) for g in groups.values()}
    for variant in variants:
        found[groups[variant["group_id"]]["code"]][1].append(variant)
    return found


def test_apparel_comes_in_colors_and_sizes_and_phones_in_storage_and_colors(seeded: tuple[str, str]) -> None:
    groups = variants_by_group(seeded[0])
    variants = [v for _, members in groups.values() for v in members]
    by_axes = {tuple(g["axes"]) for g, _ in groups.values()}

    assert by_axes == {("color", "size"), ("storage_gb", "color")}
    assert 0.10 * PRODUCTS <= len(variants) <= 0.20 * PRODUCTS
    assert all(len(members) >= 4 for _, members in groups.values())
    assert all(v["variant_key"] is not None for v in variants)
    sizes = {v["attributes"]["size"] for v in variants if "size" in v["attributes"]}
    assert {"S", "M", "L", "XL"} <= sizes
    assert {v["attributes"]["storage_gb"] for v in variants if "storage_gb" in v["attributes"]} >= {256, 512}


def test_every_variant_has_each_axis_distinct_values_and_its_groups_name(seeded: tuple[str, str]) -> None:
    for group, members in variants_by_group(seeded[0]).values():
        facts = GroupFacts(group["id"], group["code"], group["name"], group["brand"], group["category_id"],
                           group["description"], group["images"], group["axes"])
        axis_values = [tuple(v["attributes"].get(axis) for axis in group["axes"]) for v in members]

        assert all(value not in (None, "") for values in axis_values for value in values), group["code"]
        assert len(set(axis_values)) == len(members), group["code"]
        assert [v["variant_key"] for v in members] == [variant_key(facts, v["attributes"]) for v in members]
        assert all(v["name"] == group["name"] and "name" in v["inherited"] for v in members)
        assert all(v["brand"] == group["brand"] and v["description"] == group["description"] for v in members)
        assert all(v["sku"].startswith(group["code"] + "-") for v in members)


def test_variant_prices_climb_with_storage_and_size_and_some_variants_sell_out(seeded: tuple[str, str]) -> None:
    groups = list(variants_by_group(seeded[0]).values())
    for group, members in groups:
        price = {(v["attributes"]["color"], v["attributes"].get("size", v["attributes"].get("storage_gb"))):
                 v["price"] for v in members}
        for (color, step), amount in price.items():
            if "storage_gb" in group["axes"]:  # each storage step costs more, in every color
                assert all(amount < other for (c, s), other in price.items() if c == color and s > step)
            elif step in ("XL", "XXL") and (color, "M") in price:
                assert amount > price[color, "M"], group["code"]
            elif step in ("XS", "S", "L") and (color, "M") in price:
                assert amount == price[color, "M"], group["code"]
    variants = [v for _, members in groups for v in members]
    sold_out = sum(1 for v in variants if v["available"] == 0)

    assert 0.05 * len(variants) <= sold_out <= 0.30 * len(variants)


def test_a_catalog_with_data_is_never_seeded_again(seeded: tuple[str, str]) -> None:
    url = seeded[1]

    with pytest.raises(CatalogNotEmptyError):
        seed(url, 10, seed=1)
    assert seed_if_empty(url, 10, 1) is False
    assert scalar(url, "SELECT count(*) FROM products") == PRODUCTS
