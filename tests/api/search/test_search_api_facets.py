"""Storefront facets and cursors: counts equal PostgreSQL's, facets are disjunctive, cursors page through
everything once (sorted, and browsing in stock first)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from indexer.stream import OutboxConsumer
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.search import counts, create, ids, search, word

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


# --- facets -------------------------------------------------------------------------------------------------

@pytest.fixture
async def facet_catalog(shop: Client, auth_headers: Headers, consumer: OutboxConsumer,
                        catalog_rows: CatalogRows, unique: str) -> dict[str, Any]:
    """A small category tree with two brands, colours, sizes, stock and one draft."""
    root = f"shop-{unique}"
    tv = catalog_rows.category(f"{root}/tv")
    audio = catalog_rows.category(f"{root}/audio")
    root_id = catalog_rows.category(root)
    catalog_rows.conn.execute(
        "INSERT INTO category_attributes (category_id, name, type, facetable) VALUES "
        "(%s, 'color', 'string', true), (%s, 'size', 'string', false)", (root_id, root_id))
    a, b = f"Alpha {unique}", f"Beta {unique}"
    specs = [(tv, a, "red", 3), (tv, a, "blue", 0), (tv, b, "red", 5), (audio, b, "black", 0),
             (audio, a, "red", 1)]
    made: list[dict[str, Any]] = []
    for category, brand, color, stock in specs:
        product = await create(shop, auth_headers, name=f"{word(unique)} Device", brand=brand, category_id=category,
                               attributes={"color": color, "size": "m"}, price=50 + len(made) * 100)
        if stock:
            catalog_rows.stock(product["id"], on_hand=stock)
        made.append(product)
    await create(shop, auth_headers, name="Draft device", brand=b, category_id=tv, status="draft",
                 attributes={"color": "red"})
    consumer.drain()
    return {"root": root, "brands": (a, b), "products": made}


def sql_counts(rows: CatalogRows, group: str, root: str, where: str = "true") -> dict[str, int]:
    """Counts straight from PostgreSQL: active products under `root`, grouped by an SQL expression."""
    sql = f"""
        SELECT {group} AS value, count(*) FROM products p JOIN categories c ON c.id = p.category_id
        LEFT JOIN (SELECT product_id, sum(on_hand - reserved) AS available FROM inventory GROUP BY product_id) s
          ON s.product_id = p.id
        WHERE p.status = 'active' AND (c.path = %(root)s OR c.path LIKE %(prefix)s) AND {where}
        GROUP BY 1"""
    found = rows.conn.execute(sql, {"root": root, "prefix": root + "/%"}).fetchall()
    return {str(value): int(count) for value, count in found}


async def test_facet_counts_equal_postgresql_counts(shop: Client, facet_catalog: dict[str, Any],
                                                    catalog_rows: CatalogRows) -> None:
    root = facet_catalog["root"]
    result = await search(shop, category=root)
    facets = result["facets"]

    assert result["total"] == sum(sql_counts(catalog_rows, "'all'", root).values()) == 5
    assert counts(facets["brand"]) == sql_counts(catalog_rows, "p.brand", root)
    assert {c["value"]: c["count"] for c in facets["category"]} == sql_counts(catalog_rows, "c.path", root)
    assert {c["name"] for c in facets["category"]} == {"Tv", "Audio"}
    assert counts(facets["attributes"]["color"]) == sql_counts(catalog_rows, "p.attributes->>'color'", root)
    assert "size" not in facets["attributes"]  # defined on the category as not facetable
    in_stock = sql_counts(catalog_rows, "CASE WHEN s.available > 0 THEN 'true' ELSE 'false' END", root)
    assert facets["availability"] == {"in_stock": in_stock.get("true", 0), "out_of_stock": in_stock.get("false", 0)}
    prices = catalog_rows.conn.execute(
        "SELECT min(price), max(price) FROM products p JOIN categories c ON c.id = p.category_id "
        "WHERE p.status = 'active' AND c.path LIKE %s", (root + "%",)).fetchone()
    assert prices is not None
    assert (facets["price"]["min"], facets["price"]["max"]) == (float(prices[0]), float(prices[1]))
    assert sum(r["count"] for r in facets["price"]["ranges"]) == 5

    tv = await search(shop, category=f"{root}/tv")
    assert tv["total"] == 3
    assert "color" in tv["facets"]["attributes"]  # inherited from the parent category's definitions


async def test_facets_are_disjunctive(shop: Client, facet_catalog: dict[str, Any],
                                      catalog_rows: CatalogRows) -> None:
    root = facet_catalog["root"]
    alpha, beta = facet_catalog["brands"]
    everything = await search(shop, category=root)

    only_alpha = await search(shop, category=root, brand=alpha)
    assert only_alpha["total"] == sql_counts(catalog_rows, "p.brand", root)[alpha] == 3
    assert counts(only_alpha["facets"]["brand"]) == counts(everything["facets"]["brand"])  # Beta still counted
    assert counts(only_alpha["facets"]["attributes"]["color"]) == sql_counts(
        catalog_rows, "p.attributes->>'color'", root, f"p.brand = '{alpha}'")

    red_alpha = await search(shop, **{"category": root, "brand": alpha, "attr.color": "red"})
    assert red_alpha["total"] == 2
    assert counts(red_alpha["facets"]["attributes"]["color"]) == {"red": 2, "blue": 1}
    assert counts(red_alpha["facets"]["brand"]) == {alpha: 2, beta: 1}

    both_colors = await shop.get("/search", params=[("category", root), ("attr.color", "red"),
                                                    ("attr.color", "blue")])
    assert both_colors.json()["total"] == 4
    in_stock = await search(shop, category=root, in_stock="true", price_max=300)
    assert in_stock["total"] == 2
    assert in_stock["facets"]["availability"]["out_of_stock"] == 1


async def test_cursor_pages_through_everything_once(shop: Client, facet_catalog: dict[str, Any]) -> None:
    root = facet_catalog["root"]
    seen: list[int] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"category": root, "per_page": 2, "sort": "price_asc"}
        if cursor:
            params["cursor"] = cursor
        page = await search(shop, **params)
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(p["id"] for p in facet_catalog["products"])
    assert len(seen) == len(set(seen))


async def test_browsing_lists_in_stock_products_first_and_its_cursor_pages_through_everything_once(
        shop: Client, facet_catalog: dict[str, Any]) -> None:
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"category": facet_catalog["root"], "per_page": 2}  # sort: relevance
        if cursor:
            params["cursor"] = cursor
        page = await search(shop, **params)
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(item["id"] for item in seen) == sorted(p["id"] for p in facet_catalog["products"])
    assert [item["in_stock"] for item in seen] == [True, True, True, False, False]
