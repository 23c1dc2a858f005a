"""Product groups (models sold in variants) through the API against real PostgreSQL: the CRUD contract, what a
variant inherits, its axes, and what follows a change to the group."""

from __future__ import annotations

from collections.abc import Callable

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers.api import assert_error
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.factories import product_payload
from tests.helpers.groups import new_group, new_variant

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


async def test_a_group_is_created_read_listed_and_found_by_code(
        client: Client, auth_headers: Headers, unique: str) -> None:
    group = await new_group(client, auth_headers, unique)
    assert group["code"] == f"CASE-{unique}" and group["axes"] == ["color", "size"]
    assert group["variant_count"] == 0 and group["variants"] == []

    read = await client.get(f"/product-groups/{group['id']}", headers=auth_headers("analyst"))
    assert read.status_code == 200 and read.json()["name"] == f"Aero Case {unique}"
    listed = await client.get("/product-groups", params={"code": f"case-{unique}"}, headers=auth_headers("analyst"))
    assert [g["id"] for g in listed.json()] == [group["id"]] and listed.headers["x-total-count"] == "1"
    page = await client.get("/product-groups", params={"skip": 0, "limit": 1}, headers=auth_headers("analyst"))
    assert len(page.json()) == 1 and int(page.headers["x-total-count"]) >= 1


async def test_unknown_groups_duplicate_codes_and_bad_bodies_get_clear_errors(
        client: Client, auth_headers: Headers, unique: str) -> None:
    group = await new_group(client, auth_headers, unique)
    headers = auth_headers("merchandiser")
    assert_error(await client.get("/product-groups/999999999", headers=headers), 404, "PRODUCT_GROUP_NOT_FOUND")
    assert_error(await client.patch("/product-groups/999999999", json={"name": "x"}, headers=headers), 404,
                 "PRODUCT_GROUP_NOT_FOUND")
    assert_error(await client.delete("/product-groups/999999999", headers=headers), 404, "PRODUCT_GROUP_NOT_FOUND")
    duplicate = await client.post("/product-groups", json={"code": group["code"].lower(), "name": "Other",
                                                           "axes": ["color"]}, headers=headers)
    assert_error(duplicate, 409, "GROUP_CODE_ALREADY_EXISTS")
    no_axes = await client.post("/product-groups", json={"code": f"X-{unique}", "name": "X"}, headers=headers)
    assert_error(no_axes, 400, "VALIDATION_ERROR")
    bad_category = await client.post("/product-groups", json={"code": f"Y-{unique}", "name": "Y", "axes": ["size"],
                                                              "category_id": 999999999}, headers=headers)
    assert_error(bad_category, 400, "CATEGORY_NOT_FOUND")
    assert_error(await client.post("/product-groups", json={"code": f"Z-{unique}", "name": "Z", "axes": ["size"]},
                                   headers=auth_headers("analyst")), 403, "FORBIDDEN")
    unknown = await client.post("/products", json={**product_payload(), "group_id": 999999999}, headers=headers)
    assert_error(unknown, 400, "PRODUCT_GROUP_NOT_FOUND")


async def test_a_variant_inherits_what_it_lacks_and_keeps_what_it_has(
        client: Client, auth_headers: Headers, unique: str) -> None:
    group = await new_group(client, auth_headers, unique)
    plain = await new_variant(client, auth_headers, group["id"], attributes={"color": "Frost", "size": "M"})
    assert plain["name"] == group["name"] and plain["brand"] == "Aero"
    assert plain["description"] == group["description"] and plain["images"] == group["images"]
    assert plain["group_id"] == group["id"]
    assert set(plain["inherited"]) == {"name", "brand", "category_id", "description", "images"}
    own = await new_variant(client, auth_headers, group["id"], name=f"Aero Case {unique} Night Edition",
                            attributes={"color": "Night", "size": "M"})
    assert own["name"] == f"Aero Case {unique} Night Edition" and "name" not in own["inherited"]

    read = (await client.get(f"/product-groups/{group['id']}", headers=auth_headers("analyst"))).json()
    assert read["variant_count"] == 2
    assert [v["sku"] for v in read["variants"]] == [plain["sku"], own["sku"]]
    assert read["variants"][0]["axis_values"] == {"color": "Frost", "size": "M"}


async def test_a_variant_needs_every_axis_and_distinct_axis_values(
        client: Client, auth_headers: Headers, unique: str) -> None:
    group = await new_group(client, auth_headers, unique)
    missing = await new_variant(client, auth_headers, group["id"], status=400, attributes={"color": "Red"})
    body = assert_error(await client.post("/products", json={"sku": f"M-{unique}", "price": 1, "group_id": group["id"],
                                                             "attributes": {"color": "Red"}},
                                          headers=auth_headers("merchandiser")), 400, "MISSING_VARIANT_AXIS")
    assert "size" in body["message"] and body["details"]["fields"] == {
        "attributes.size": f"required by the axes of group {group['code']!r}"}
    assert missing["code"] == "MISSING_VARIANT_AXIS"
    await new_variant(client, auth_headers, group["id"], attributes={"color": "Red", "size": "M"})
    twin = await new_variant(client, auth_headers, group["id"], status=409, attributes={"color": " red", "size": "M"})
    assert twin["code"] == "VARIANT_ALREADY_EXISTS"
    other_size = await new_variant(client, auth_headers, group["id"], attributes={"color": "Red", "size": "L"})
    moved = await client.patch(f"/products/{other_size['id']}", json={"attributes": {"color": "RED", "size": "m"}},
                               headers=auth_headers("merchandiser"))
    assert_error(moved, 409, "VARIANT_ALREADY_EXISTS")
    read = (await client.get(f"/product-groups/{group['id']}", headers=auth_headers("analyst"))).json()
    assert read["variant_count"] == 2  # nothing half-written


async def test_a_product_without_a_group_still_needs_a_name(client: Client, auth_headers: Headers) -> None:
    body = product_payload()
    del body["name"]
    error = assert_error(await client.post("/products", json=body, headers=auth_headers("merchandiser")), 400,
                         "VALIDATION_ERROR")
    assert "name" in error["details"]["fields"]


async def test_a_change_to_the_group_flows_down_to_the_variants_that_inherit_it(
        client: Client, auth_headers: Headers, catalog_rows: CatalogRows, unique: str) -> None:
    group = await new_group(client, auth_headers, unique)
    inheriting = await new_variant(client, auth_headers, group["id"], attributes={"color": "Frost", "size": "S"})
    own_name = await new_variant(client, auth_headers, group["id"], name="Own Name",
                                 attributes={"color": "Frost", "size": "L"})
    headers = auth_headers("merchandiser")
    changed = await client.patch(f"/product-groups/{group['id']}", json={"name": f"Aero Slim Case {unique}",
                                                                         "brand": "Aerotech"}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert int(changed.headers["x-catalog-change"]) > 0
    first = (await client.get(f"/products/{inheriting['id']}", headers=headers)).json()
    second = (await client.get(f"/products/{own_name['id']}", headers=headers)).json()
    assert first["name"] == f"Aero Slim Case {unique}" and first["brand"] == "Aerotech"
    assert first["version"] > inheriting["version"]
    assert second["name"] == "Own Name" and second["brand"] == "Aerotech"
    assert second["version"] > own_name["version"]  # re-indexed too (its document names the group)

    # Set back to null, the variant takes the group's value again; taken out of the group, it keeps its copies.
    back = await client.patch(f"/products/{own_name['id']}", json={"name": None}, headers=headers)
    assert back.json()["name"] == f"Aero Slim Case {unique}" and "name" in back.json()["inherited"]
    out = await client.patch(f"/products/{inheriting['id']}", json={"group_id": None}, headers=headers)
    assert out.json()["group_id"] is None and out.json()["inherited"] == []
    assert out.json()["name"] == f"Aero Slim Case {unique}"
    history = catalog_rows.scalar("SELECT count(*) FROM audit_log WHERE entity = 'group' AND entity_id = %s",
                                  (str(group["id"]),))
    assert history == 2  # created, updated


async def test_new_axes_every_variant_lacks_are_refused_whole(
        client: Client, auth_headers: Headers, unique: str) -> None:
    group = await new_group(client, auth_headers, unique)
    variant = await new_variant(client, auth_headers, group["id"], attributes={"color": "Frost", "size": "S"})
    refused = await client.patch(f"/product-groups/{group['id']}", json={"axes": ["color", "material"],
                                                                         "name": "Renamed"},
                                 headers=auth_headers("merchandiser"))
    body = assert_error(refused, 400, "MISSING_VARIANT_AXIS")
    assert variant["sku"] in body["message"]
    read = (await client.get(f"/product-groups/{group['id']}", headers=auth_headers("analyst"))).json()
    assert read["axes"] == ["color", "size"] and read["name"] == group["name"]


async def test_deleting_a_group_keeps_its_variants_as_products_of_their_own(
        client: Client, auth_headers: Headers, unique: str) -> None:
    group = await new_group(client, auth_headers, unique)
    variant = await new_variant(client, auth_headers, group["id"], attributes={"color": "Frost", "size": "S"})
    headers = auth_headers("merchandiser")
    assert (await client.delete(f"/product-groups/{group['id']}", headers=headers)).status_code == 204
    assert_error(await client.get(f"/product-groups/{group['id']}", headers=headers), 404, "PRODUCT_GROUP_NOT_FOUND")
    kept = (await client.get(f"/products/{variant['id']}", headers=headers)).json()
    assert kept["group_id"] is None and kept["name"] == group["name"] and kept["brand"] == "Aero"


async def test_bulk_group_code_creates_the_group_from_a_feed_of_variants(
        client: Client, auth_headers: Headers, unique: str) -> None:
    code = f"TEE-{unique}"
    items = [{"sku": f"TEE-{unique}-{color}-{size}", "group_code": code, "name": f"Tee {unique}", "price": 12,
              "brand": "Loom", "attributes": {"color": color, "size": size, "material": "cotton",
                                              "gtin": f"{len(color)}{len(size)}{unique}"}}
             for color in ("red", "blue") for size in ("S", "M")]
    items.append({"sku": f"TEE-{unique}-dup", "group_code": code, "price": 12,
                  "attributes": {"color": "red", "size": "S", "material": "cotton"}})
    response = await client.post("/products/bulk", json=items, headers=auth_headers("merchandiser"))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["summary"] == {"created": 4, "updated": 0, "unchanged": 0, "error": 1}
    assert result["items"][4]["error"]["code"] == "VARIANT_ALREADY_EXISTS"
    groups = (await client.get("/product-groups", params={"code": code}, headers=auth_headers("analyst"))).json()
    assert len(groups) == 1 and groups[0]["axes"] == ["color", "size"] and groups[0]["variant_count"] == 4
    assert groups[0]["name"] == f"Tee {unique}" and groups[0]["brand"] == "Loom"

    # A later feed sends variants only (no name): they join the group and take its name.
    more = [{"sku": f"TEE-{unique}-green-S", "group_code": code.lower(), "price": 13,
             "attributes": {"color": "green", "size": "S"}}]
    again = (await client.post("/products/bulk", json=more, headers=auth_headers("merchandiser"))).json()
    assert again["summary"]["created"] == 1, again
    green = (await client.get(f"/products/{again['items'][0]['id']}", headers=auth_headers("analyst"))).json()
    assert green["name"] == f"Tee {unique}" and green["group_id"] == groups[0]["id"]
    no_name = [{"sku": f"LONE-{unique}", "price": 13}]
    lone = (await client.post("/products/bulk", json=no_name, headers=auth_headers("merchandiser"))).json()
    assert lone["items"][0]["error"]["details"]["fields"] == {"name": "required"}


async def test_group_changes_enter_the_change_feed_in_commit_order(
        client: Client, auth_headers: Headers, unique: str) -> None:
    headers = auth_headers("analyst")
    start = (await client.get("/changes", params={"after": "latest"}, headers=headers)).json()["next_cursor"]
    group = await new_group(client, auth_headers, unique)
    variant = await new_variant(client, auth_headers, group["id"], attributes={"color": "Frost", "size": "S"})
    await client.patch(f"/product-groups/{group['id']}", json={"description": "Now thinner."},
                       headers=auth_headers("merchandiser"))
    page = (await client.get("/changes", params={"after": start, "limit": 100}, headers=headers)).json()
    mine = [(c["entity"], c["action"], c["entity_id"]) for c in page["changes"]
            if c["entity_id"] in (str(group["id"]), str(variant["id"])) and c["entity"] in ("group", "product")]
    assert mine == [("group", "create", str(group["id"])), ("product", "create", str(variant["id"])),
                    ("group", "update", str(group["id"])), ("product", "update", str(variant["id"]))]
    update = next(c for c in page["changes"] if c["entity"] == "group" and c["action"] == "update")
    assert update["fields"] == ["description"] and update["product_id"] is None
