"""Grouped storefront search against real PostgreSQL, Redis and OpenSearch: one item per model, the variant the
query and filters pick, facet counts per model (checked against PostgreSQL), filters that hold within one variant,
price sort and stock per model, paging, and a change to the group reaching search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from catalog.settings import Settings
from indexer.stream import OutboxConsumer
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.factories import product_payload
from tests.helpers.search import counts, ids, search, word

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


async def group(client: Client, headers: Headers, code: str, name: str, axes: list[str], **fields: Any
                ) -> dict[str, Any]:
    response = await client.post("/product-groups", json={"code": code, "name": name, "axes": axes, "brand": "Aero",
                                                          **fields}, headers=headers("merchandiser"))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def variant(client: Client, headers: Headers, group_id: int, price: float, **attributes: Any
                  ) -> dict[str, Any]:
    body = {"sku": product_payload()["sku"], "price": price, "group_id": group_id, "status": "active",
            "attributes": attributes}
    response = await client.post("/products", json=body, headers=headers("merchandiser"))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def product(client: Client, headers: Headers, **fields: Any) -> dict[str, Any]:
    response = await client.post("/products", json=product_payload(**{"status": "active", **fields}),
                                 headers=headers("merchandiser"))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


class Catalog:
    """A category of its own with two cases in colors and sizes and one plain product."""

    def __init__(self, word: str, category: str, case: dict[str, Any], sleeve: dict[str, Any],
                 variants: dict[str, Any], plain: dict[str, Any]) -> None:
        self.word, self.category, self.case, self.sleeve = word, category, case, sleeve
        self.variants, self.plain = variants, plain


@pytest.fixture
async def catalog(shop: Client, auth_headers: Headers, consumer: OutboxConsumer, catalog_rows: CatalogRows,
                  unique: str) -> Catalog:
    w = word(unique)
    category = f"{w}-cases"
    category_id = catalog_rows.category(category)
    catalog_rows.conn.execute(  # its own facets: whatever other tests define elsewhere
        "INSERT INTO category_attributes (category_id, name, type, facetable) VALUES (%s, 'color', 'string', true), "
        "(%s, 'size', 'string', true)", (category_id, category_id))
    case = await group(shop, auth_headers, f"CASE-{unique}", f"{w} Aero Case", ["color", "size"],
                       category_id=category_id, description="A slim phone case.")
    sleeve = await group(shop, auth_headers, f"SLEEVE-{unique}", f"{w} Aero Sleeve", ["color", "size"],
                         category_id=category_id, description="A soft laptop sleeve.")
    variants = {
        "case-red-s": await variant(shop, auth_headers, case["id"], 25.0, color="red", size="S"),
        "case-red-m": await variant(shop, auth_headers, case["id"], 27.0, color="red", size="M"),
        "case-red-l": await variant(shop, auth_headers, case["id"], 29.0, color="red", size="L"),
        "case-frost-m": await variant(shop, auth_headers, case["id"], 31.0, color="frost", size="M"),
        "sleeve-red-l": await variant(shop, auth_headers, sleeve["id"], 40.0, color="red", size="L"),
        "sleeve-blue-m": await variant(shop, auth_headers, sleeve["id"], 15.0, color="blue", size="M"),
    }
    plain = await product(shop, auth_headers, name=f"{w} Aero Strap", category_id=category_id, price=10.0,
                          attributes={"color": "red", "size": "M"})
    catalog_rows.stock(variants["case-frost-m"]["id"], on_hand=4)
    catalog_rows.stock(variants["sleeve-red-l"]["id"], on_hand=2)
    consumer.drain()
    return Catalog(w, category, case, sleeve, variants, plain)


def items_by_group(result: dict[str, Any]) -> dict[int | None, dict[str, Any]]:
    return {item.get("group", {}).get("id"): item for item in result["items"]}


async def test_one_item_per_model_with_its_matching_variants_and_price_range(shop: Client, catalog: Catalog) -> None:
    result = await search(shop, category=catalog.category)
    assert result["total"] == 3 and len(result["items"]) == 3
    found = items_by_group(result)
    case = found[catalog.case["id"]]
    assert case["group"]["code"] == catalog.case["code"] and case["group"]["name"] == catalog.case["name"]
    assert case["group"]["variant_count"] == 4
    assert set(case["group"]["matched_variants"]) == {catalog.variants[k]["sku"] for k in
                                                      ("case-red-s", "case-red-m", "case-red-l", "case-frost-m")}
    assert case["price_range"] == {"min": 25.0, "max": 31.0}
    assert case["sku"] == catalog.variants["case-frost-m"]["sku"] and case["in_stock"]  # the one in stock
    plain = found[None]
    assert plain["id"] == catalog.plain["id"] and "group" not in plain and "price_range" not in plain

    flat = await search(shop, category=catalog.category, group="false")
    assert flat["total"] == 7 and len(flat["items"]) == 7
    assert all("group" not in item for item in flat["items"])


async def test_the_query_or_the_filter_picks_the_variant(shop: Client, catalog: Catalog) -> None:
    w = catalog.word
    frost_sku = catalog.variants["case-frost-m"]["sku"]
    by_words = await search(shop, q=f"{w} frost")
    assert [i["sku"] for i in by_words["items"]] == [frost_sku] and by_words["total"] == 1
    assert by_words["items"][0]["group"]["matched_variants"] == [frost_sku]
    longer = await search(shop, q=f"{w} aero case frost")  # widened (about two thirds of the words) past it
    assert longer["items"][0]["sku"] == frost_sku
    by_filter = await search(shop, category=catalog.category, **{"attr.color": "red", "attr.size": "L"})
    found = items_by_group(by_filter)
    assert set(found) == {catalog.case["id"], catalog.sleeve["id"]}
    assert found[catalog.case["id"]]["sku"] == catalog.variants["case-red-l"]["sku"]
    assert found[catalog.case["id"]]["price_range"] == {"min": 29.0, "max": 29.0}


async def test_several_attribute_filters_hold_within_one_variant(shop: Client, catalog: Catalog) -> None:
    # The sleeve is red (in L) and comes in M (in blue), but no sleeve is red and M.
    result = await search(shop, category=catalog.category, **{"attr.color": "red", "attr.size": "M"})
    found = items_by_group(result)
    assert set(found) == {catalog.case["id"], None}
    assert found[catalog.case["id"]]["group"]["matched_variants"] == [catalog.variants["case-red-m"]["sku"]]
    assert result["total"] == 2


async def test_facet_counts_count_models_as_postgresql_does(
        shop: Client, catalog: Catalog, catalog_rows: CatalogRows) -> None:
    result = await search(shop, category=catalog.category)
    facets = result["facets"]

    def models_with(sql_condition: str) -> int:  # counted in PostgreSQL: a model once, a plain product once
        return int(catalog_rows.scalar(
            "SELECT count(DISTINCT coalesce('g' || p.group_id, 'p' || p.id)) FROM products p "
            "JOIN categories c ON c.id = p.category_id WHERE c.path = %s AND p.status = 'active' AND " + sql_condition,
            (catalog.category,)))

    colors = counts(facets["attributes"]["color"])
    assert colors == {"red": models_with("p.attributes->>'color' = 'red'"),
                      "frost": models_with("p.attributes->>'color' = 'frost'"),
                      "blue": models_with("p.attributes->>'color' = 'blue'")}
    assert colors == {"red": 3, "frost": 1, "blue": 1}
    assert counts(facets["attributes"]["size"]) == {"M": models_with("p.attributes->>'size' = 'M'"),
                                                    "L": 2, "S": 1}
    assert counts(facets["brand"]) == {"Aero": 2, "Acme": 1}
    assert facets["availability"] == {"in_stock": 2, "out_of_stock": 1}
    ranges = {(r["from"], r["to"]): r["count"] for r in facets["price"]["ranges"] if r["count"]}
    assert ranges == {(10.0, 25.0): 2, (25.0, 50.0): 2}  # the sleeve (15 and 40) in both

    # Disjunctive: filtered on red, the color facet still counts every color under the other filters.
    red = await search(shop, category=catalog.category, **{"attr.color": "red"})
    assert red["total"] == 3
    assert counts(red["facets"]["attributes"]["color"]) == {"red": 3, "frost": 1, "blue": 1}
    assert counts(red["facets"]["attributes"]["size"]) == {"M": 2, "L": 2, "S": 1}  # among red variants
    in_stock = await search(shop, category=catalog.category, in_stock="true")
    assert {i.get("group", {}).get("id") for i in in_stock["items"]} == {catalog.case["id"], catalog.sleeve["id"]}
    assert in_stock["facets"]["availability"] == {"in_stock": 2, "out_of_stock": 1}


async def test_price_sort_uses_the_matching_variants_lowest_price(shop: Client, catalog: Catalog) -> None:
    cheapest = await search(shop, category=catalog.category, sort="price_asc")
    assert [i.get("group", {}).get("id") for i in cheapest["items"]] == [None, catalog.sleeve["id"],
                                                                         catalog.case["id"]]
    assert [i["price"] for i in cheapest["items"]] == [10.0, 15.0, 25.0]
    red = await search(shop, category=catalog.category, sort="price_asc", **{"attr.color": "red"})
    assert [i["price"] for i in red["items"]] == [10.0, 25.0, 40.0]  # the sleeve's red one costs 40


async def test_grouped_results_page_with_a_cursor_without_repeats(shop: Client, catalog: Catalog) -> None:
    first = await search(shop, category=catalog.category, per_page=2, sort="price_asc")
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = await search(shop, category=catalog.category, per_page=2, sort="price_asc", cursor=first["next_cursor"])
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    seen = [i["id"] for i in first["items"] + second["items"]]
    assert len(set(seen)) == 3
    page_two = await search(shop, category=catalog.category, per_page=2, sort="price_asc", page=2)
    assert [i["id"] for i in page_two["items"]] == [i["id"] for i in second["items"]]


async def test_a_change_to_the_group_reaches_every_variant_in_search(
        shop: Client, auth_headers: Headers, catalog: Catalog, consumer: OutboxConsumer, unique: str) -> None:
    w = word(unique)
    renamed = await shop.patch(f"/product-groups/{catalog.sleeve['id']}", json={"name": f"{w} Puffy Sleeve"},
                               headers=auth_headers("merchandiser"))
    assert renamed.status_code == 200, renamed.text
    consumer.drain()
    result = await search(shop, q=f"{w} puffy")
    assert ids(result)[0] in {catalog.variants["sleeve-red-l"]["id"], catalog.variants["sleeve-blue-m"]["id"]}
    assert result["total"] == 1 and result["items"][0]["group"]["name"] == f"{w} Puffy Sleeve"
    assert len(result["items"][0]["group"]["matched_variants"]) == 2


async def test_suggestions_name_a_model_once(shop: Client, catalog: Catalog) -> None:
    response = await shop.get("/search/suggest", params={"q": f"{catalog.word} aero ca"})
    assert response.status_code == 200, response.text
    skus = [p["sku"] for p in response.json()["products"]]
    case_skus = {catalog.variants[k]["sku"] for k in ("case-red-s", "case-red-m", "case-red-l", "case-frost-m")}
    assert len(set(skus) & case_skus) == 1


async def test_verify_counts_a_group_change_as_pending_until_its_variants_are_reindexed(
        shop: Client, auth_headers: Headers, catalog: Catalog, consumer: OutboxConsumer, settings: Settings,
        os_client: Any, unique: str) -> None:
    from indexer.verify import verify

    renamed = await shop.patch(f"/product-groups/{catalog.case['id']}", json={"code": f"CASE2-{unique}"},
                               headers=auth_headers("merchandiser"))
    assert renamed.status_code == 200, renamed.text
    before = verify(settings)
    assert before.drift == 0 and before.pending >= 4  # the four variants: queued, not lost
    consumer.drain()
    after = verify(settings)
    assert (after.drift, after.pending) == (0, 0), after
    variant = catalog.variants["case-frost-m"]
    document = os_client.get(index=settings.index_alias, id=str(variant["id"]))["_source"]
    assert document["group_code"] == f"CASE2-{unique}" and document["group_id"] == catalog.case["id"]
