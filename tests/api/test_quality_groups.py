"""Completeness per product model (`GET /quality/groups`) and duplicates that leave a model's variants alone, through
the API against real PostgreSQL. Every expected count and list is read back from the products' own rows.

Each test crafts its models under a unique root category; the catalog-wide default rules of migration 0002
(brand, description >= 50 chars, images, price, category) apply to them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers.api import assert_error
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.factories import product_payload
from tests.helpers.groups import new_group, new_variant
from tests.helpers.quality import LONG_TEXT, add_required_attribute

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


async def groups_of(client: Client, headers: Headers, **params: Any) -> tuple[list[dict[str, Any]], int]:
    response = await client.get("/quality/groups", params=params, headers=headers("analyst"))
    assert response.status_code == 200, response.text
    return response.json(), int(response.headers["x-total-count"])


async def full_group(client: Client, headers: Headers, unique: str, category_id: int, **fields: Any
                     ) -> dict[str, Any]:
    """A model whose own fields satisfy every default rule (its variants need only a price)."""
    return await new_group(client, headers, unique, category_id=category_id, description=LONG_TEXT, **fields)


def counts_from_rows(rows: CatalogRows, group_id: int) -> tuple[int, int]:
    """(variants, complete variants) of a model, from its products' rows (archived ones left out)."""
    found = rows.conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE completeness = 100 AND cardinality(missing_fields) = 0) "
        "FROM products WHERE group_id = %s AND status <> 'archived'", (group_id,)).fetchone()
    assert found is not None
    return int(found[0]), int(found[1])


def incomplete_from_rows(rows: CatalogRows, group_id: int) -> list[dict[str, Any]]:
    return [{"id": r[0], "sku": r[1], "completeness": r[2], "missing_fields": list(r[3])}
            for r in rows.conn.execute(
                "SELECT id, sku, completeness, missing_fields FROM products WHERE group_id = %s "
                "AND status <> 'archived' AND completeness < 100 ORDER BY completeness, id", (group_id,))]


async def test_models_list_their_counts_and_incomplete_variants_least_complete_first(
        client: Client, auth_headers: Headers, catalog_rows: CatalogRows, unique: str) -> None:
    root = catalog_rows.category(f"models-{unique}")
    leaf = catalog_rows.category(f"models-{unique}/cases")
    add_required_attribute(catalog_rows, leaf, "material")
    third = await full_group(client, auth_headers, f"third-{unique}", leaf)  # 1 of 3 complete
    half = await full_group(client, auth_headers, f"half-{unique}", leaf)  # 1 of 2 complete
    whole = await full_group(client, auth_headers, f"whole-{unique}", root)  # 2 of 2 complete
    empty = await full_group(client, auth_headers, f"empty-{unique}", root)  # no variants

    def make(group: dict[str, Any], color: str, **fields: Any) -> Any:
        return new_variant(client, auth_headers, group["id"], **{
            "attributes": {"color": color, "size": "M", "material": "silicone"}, **fields})

    await make(third, "Red")
    no_price = await make(third, "Blue", price=0)
    no_material = await make(third, "Green", attributes={"color": "Green", "size": "M"})
    archived = await make(third, "Black", price=0)
    catalog_rows.update(archived["id"], status="archived")
    await make(half, "Red")
    own_short = await make(half, "Blue", description="Short, its own.")
    await make(whole, "Red")
    await make(whole, "Blue")

    models, total = await groups_of(client, auth_headers, category_id=root)

    assert [m["id"] for m in models] == [third["id"], half["id"], whole["id"], empty["id"]] and total == 4
    for model in models:
        variants, complete = counts_from_rows(catalog_rows, model["id"])
        assert (model["variant_count"], model["complete_variants"]) == (variants, complete)
        assert model["complete_pct"] == (round(100 * complete / variants, 2) if variants else None)
        shown = [{key: v[key] for key in ("id", "sku", "completeness", "missing_fields")}
                 for v in model["incomplete_variants"]]
        assert shown == incomplete_from_rows(catalog_rows, model["id"])
    by_id = {m["id"]: m for m in models}
    assert (by_id[third["id"]]["variant_count"], by_id[third["id"]]["complete_variants"]) == (3, 1)
    assert by_id[third["id"]]["complete_pct"] == 33.33 and by_id[empty["id"]]["complete_pct"] is None
    missing = {v["sku"]: v["missing_fields"] for v in by_id[third["id"]]["incomplete_variants"]}
    assert missing == {no_price["sku"]: ["price"], no_material["sku"]: ["attributes.material"]}
    assert archived["sku"] not in missing
    assert by_id[third["id"]]["incomplete_variants"][0]["axis_values"] in (
        {"color": "Blue", "size": "M"}, {"color": "Green", "size": "M"})
    assert [(v["sku"], v["missing_fields"]) for v in by_id[half["id"]]["incomplete_variants"]] == [
        (own_short["sku"], ["description"])]
    assert by_id[third["id"]]["category"] == {"id": leaf, "name": "Cases", "path": f"models-{unique}/cases"}

    leaf_only, leaf_total = await groups_of(client, auth_headers, category_id=leaf)
    assert [m["id"] for m in leaf_only] == [third["id"], half["id"]] and leaf_total == 2


async def test_inherited_values_count_toward_a_variants_completeness(
        client: Client, auth_headers: Headers, catalog_rows: CatalogRows, unique: str) -> None:
    category = catalog_rows.category(f"inherit-{unique}")
    group = await full_group(client, auth_headers, unique, category)
    variant = await new_variant(client, auth_headers, group["id"], attributes={"color": "Frost", "size": "S"})
    assert {"description", "images", "brand", "category_id"} <= set(variant["inherited"])
    standalone = await client.post("/products", json=product_payload(
        name=f"Aero Case {unique}", category_id=category, description="", images=[]),
        headers=auth_headers("merchandiser"))
    assert standalone.status_code == 201, standalone.text

    models, _ = await groups_of(client, auth_headers, category_id=category)

    row = catalog_rows.conn.execute("SELECT description, completeness, missing_fields FROM products WHERE id = %s",
                                    (variant["id"],)).fetchone()
    assert row == (LONG_TEXT, 100, [])  # the group's description, materialized into the variant's row
    assert [(m["id"], m["variant_count"], m["complete_variants"], m["incomplete_variants"]) for m in models] == [
        (group["id"], 1, 1, [])]
    assert standalone.json()["missing_fields"] == ["description", "images"]  # the same fields, not inherited


async def test_incomplete_only_brand_and_paging(client: Client, auth_headers: Headers, catalog_rows: CatalogRows,
                                                unique: str) -> None:
    category = catalog_rows.category(f"paging-{unique}")
    brand = f"Pg{unique}"
    groups = [await full_group(client, auth_headers, f"{n}-{unique}", category, brand=brand) for n in range(3)]
    for n, group in enumerate(groups):
        await new_variant(client, auth_headers, group["id"], attributes={"color": "Red", "size": "M"})
        await new_variant(client, auth_headers, group["id"], price=0 if n < 2 else 5,
                          attributes={"color": "Blue", "size": "M"})
    other_brand = await full_group(client, auth_headers, f"other-{unique}", category, brand="Elsewhere")

    incomplete, total = await groups_of(client, auth_headers, category_id=category, incomplete_only="true",
                                        brand=brand.lower())
    assert [m["id"] for m in incomplete] == [groups[0]["id"], groups[1]["id"]] and total == 2
    first, first_total = await groups_of(client, auth_headers, category_id=category, brand=brand, limit=1)
    rest, rest_total = await groups_of(client, auth_headers, category_id=category, brand=brand, skip=1, limit=5)
    assert first_total == rest_total == 3
    assert [m["id"] for m in first + rest] == [g["id"] for g in groups]
    beyond, beyond_total = await groups_of(client, auth_headers, category_id=category, skip=10)
    assert beyond == [] and beyond_total == 4
    assert other_brand["id"] not in {m["id"] for m in first + rest}


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"category_id": 999999999}, 400, "CATEGORY_NOT_FOUND"),
    ({"limit": 0}, 400, "VALIDATION_ERROR"),
    ({"limit": 1001}, 400, "VALIDATION_ERROR"),
    ({"skip": -1}, 400, "VALIDATION_ERROR"),
    ({"incomplete_only": "maybe"}, 400, "VALIDATION_ERROR"),
    ({"category_id": "shoes"}, 400, "VALIDATION_ERROR"),
])
async def test_bad_parameters_get_the_error_body(client: Client, auth_headers: Headers, params: dict[str, Any],
                                                 status: int, code: str) -> None:
    response = await client.get("/quality/groups", params=params, headers=auth_headers("analyst"))
    assert_error(response, status, code)


async def test_models_are_for_staff_only(client: Client, auth_headers: Headers) -> None:
    for role in ("admin", "merchandiser", "analyst"):
        assert (await client.get("/quality/groups", headers=auth_headers(role))).status_code == 200, role
    assert_error(await client.get("/quality/groups", headers=auth_headers("customer")), 403, "FORBIDDEN")
    assert_error(await client.get("/quality/groups"), 401, "NOT_AUTHENTICATED")


async def test_variants_of_one_model_are_not_duplicates_of_each_other(
        client: Client, auth_headers: Headers, catalog_rows: CatalogRows, unique: str) -> None:
    brand = f"Twin{unique}"
    category = catalog_rows.category(f"twins-{unique}")
    alone = await full_group(client, auth_headers, f"alone-{unique}", category, brand=brand,
                             name=f"{brand} Harbor Lamp 40")
    for color in ("Red", "Blue", "Green"):  # the same inherited name and brand
        await new_variant(client, auth_headers, alone["id"], attributes={"color": color, "size": "M"})
    own_name = await new_variant(client, auth_headers, alone["id"], name=f"{brand} Harbor Lamps 40",
                                 attributes={"color": "Night", "size": "M"})  # a near-identical name of its own
    similarity = catalog_rows.scalar("SELECT similarity(lower(%s), lower(%s))", (own_name["name"], alone["name"]))
    assert similarity >= 0.8  # what similar_name would report, were they not variants of one model
    copied = await full_group(client, auth_headers, f"copied-{unique}", category, brand=brand,
                              name=f"{brand} Zephyr Fan 90")
    first = await new_variant(client, auth_headers, copied["id"], attributes={"color": "Red", "size": "M"})
    second = await new_variant(client, auth_headers, copied["id"], attributes={"color": "Blue", "size": "M"})
    lookalike = await client.post("/products", json=product_payload(name=f"{brand} zephyr fan 90", brand=brand),
                                  headers=auth_headers("merchandiser"))
    assert lookalike.status_code == 201, lookalike.text

    response = await client.get("/quality/duplicates", params={"brand": brand}, headers=auth_headers("analyst"))

    assert response.status_code == 200, response.text
    groups = [(g["reason"], sorted(p["id"] for p in g["products"])) for g in response.json()]
    # The standalone product duplicates the Zephyr model (shown with its variants); the Harbor model, alone, is
    # never reported, by exact name or by similar names.
    assert groups == [("same_name_brand", sorted([first["id"], second["id"], lookalike.json()["id"]]))]
    assert response.headers["x-total-count"] == "1"
