"""The /categories routes: tree CRUD, moves that carry their descendants, attribute definitions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers.api import assert_error, assert_validation_error_names
from tests.helpers.factories import product_payload

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]




async def make_category(
    client: Client, headers: Headers, slug: str, parent_id: int | None = None, name: str | None = None
) -> dict[str, Any]:
    body = {"slug": slug, "name": name or slug.title(), "parent_id": parent_id}
    response = await client.post("/categories", json=body, headers=headers("merchandiser"))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def make_product(
    client: Client, headers: Headers, category_id: int, **overrides: Any
) -> dict[str, Any]:
    body = product_payload(category_id=category_id, **overrides)
    response = await client.post("/products", json=body, headers=headers("merchandiser"))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def get_json(client: Client, headers: Headers, path: str) -> Any:
    response = await client.get(path, headers=headers("analyst"))
    assert response.status_code == 200, response.text
    return response.json()


async def patch(client: Client, headers: Headers, category_id: int, **changes: Any) -> Any:
    return await client.patch(f"/categories/{category_id}", json=changes, headers=headers("merchandiser"))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/categories"),
        ("GET", "/categories/tree"),
        ("GET", "/categories/1"),
        ("POST", "/categories"),
        ("PATCH", "/categories/1"),
        ("DELETE", "/categories/1"),
        ("GET", "/categories/1/attributes"),
        ("PUT", "/categories/1/attributes"),
    ],
)
async def test_every_category_route_needs_a_token(client: Client, method: str, path: str) -> None:
    assert_error(await client.request(method, path, json={}), 401, "NOT_AUTHENTICATED")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/categories", {"slug": "nope", "name": "Nope"}),
        ("PATCH", "/categories/{id}", {"name": "Renamed"}),
        ("DELETE", "/categories/{id}", None),
        ("PUT", "/categories/{id}/attributes", []),
    ],
)
async def test_analysts_read_but_cannot_write(
    client: Client, auth_headers: Headers, unique: str, method: str, path: str, body: Any
) -> None:
    category = await make_category(client, auth_headers, f"ro-{unique}")
    url = path.format(id=category["id"])
    assert_error(
        await client.request(method, url, json=body, headers=auth_headers("analyst")), 403, "FORBIDDEN"
    )
    assert (await get_json(client, auth_headers, f"/categories/{category['id']}"))["name"] == category["name"]


async def test_customers_cannot_read_categories(client: Client, auth_headers: Headers) -> None:
    assert_error(await client.get("/categories", headers=auth_headers("customer")), 403, "FORBIDDEN")


async def test_create_computes_path_and_depth(client: Client, auth_headers: Headers, unique: str) -> None:
    root = await make_category(client, auth_headers, f"home-{unique}", name="Home")
    child = await make_category(client, auth_headers, "kitchen", root["id"], name="Kitchen")
    assert root == {
        "id": root["id"],
        "parent_id": None,
        "slug": f"home-{unique}",
        "name": "Home",
        "path": f"home-{unique}",
        "depth": 0,
    }
    assert child["path"] == f"home-{unique}/kitchen"
    assert (child["parent_id"], child["depth"]) == (root["id"], 1)
    assert await get_json(client, auth_headers, f"/categories/{child['id']}") == child


async def test_list_is_flat_and_ordered_by_path_tree_is_nested(
    client: Client, auth_headers: Headers, unique: str
) -> None:
    root = await make_category(client, auth_headers, f"t-{unique}")
    b = await make_category(client, auth_headers, "b", root["id"])
    a = await make_category(client, auth_headers, "a", root["id"])
    leaf = await make_category(client, auth_headers, "leaf", a["id"])

    flat = await get_json(client, auth_headers, "/categories")
    paths = [c["path"] for c in flat]
    assert paths == sorted(paths)
    mine = [c["id"] for c in flat if c["path"].startswith(root["path"])]
    assert mine == [root["id"], a["id"], leaf["id"], b["id"]]

    tree = await get_json(client, auth_headers, "/categories/tree")
    node = next(n for n in tree if n["id"] == root["id"])
    assert [c["slug"] for c in node["children"]] == ["a", "b"]
    assert [c["id"] for c in node["children"][0]["children"]] == [leaf["id"]]
    assert node["children"][0]["children"][0]["children"] == []


async def test_product_counts_cover_the_subtree(client: Client, auth_headers: Headers, unique: str) -> None:
    root = await make_category(client, auth_headers, f"cnt-{unique}")
    child = await make_category(client, auth_headers, "child", root["id"])
    await make_product(client, auth_headers, root["id"])
    await make_product(client, auth_headers, child["id"])
    await make_product(client, auth_headers, child["id"])

    flat = await get_json(client, auth_headers, "/categories?with_counts=true")
    counts = {c["id"]: c["product_count"] for c in flat}
    assert (counts[root["id"]], counts[child["id"]]) == (3, 2)
    single = await get_json(client, auth_headers, f"/categories/{root['id']}?with_counts=true")
    assert single["product_count"] == 3
    assert "product_count" not in await get_json(client, auth_headers, f"/categories/{root['id']}")
    tree = await get_json(client, auth_headers, "/categories/tree?with_counts=true")
    assert next(n for n in tree if n["id"] == root["id"])["product_count"] == 3


async def test_duplicate_path_is_409_but_the_same_slug_elsewhere_is_fine(
    client: Client, auth_headers: Headers, unique: str
) -> None:
    one = await make_category(client, auth_headers, f"one-{unique}")
    two = await make_category(client, auth_headers, f"two-{unique}")
    await make_category(client, auth_headers, "shoes", one["id"])
    await make_category(client, auth_headers, "shoes", two["id"])
    response = await client.post(
        "/categories",
        json={"slug": "shoes", "name": "Again", "parent_id": one["id"]},
        headers=auth_headers("merchandiser"),
    )
    body = assert_error(response, 409, "CATEGORY_ALREADY_EXISTS")
    assert body["details"]["fields"]["path"] == f"one-{unique}/shoes"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "Bad Slug", "name": "x"}, "slug"),
        ({"slug": "-dash", "name": "x"}, "slug"),
        ({"slug": "ok", "name": ""}, "name"),
        ({"name": "no slug"}, "slug"),
        ({"slug": "ok", "name": "x", "colour": "red"}, "colour"),
    ],
)
async def test_invalid_category_is_400_naming_the_field(
    client: Client, auth_headers: Headers, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/categories", json=body, headers=auth_headers("merchandiser"))
    assert_validation_error_names(response, field)


async def test_unknown_parent_is_400(client: Client, auth_headers: Headers, unique: str) -> None:
    response = await client.post(
        "/categories",
        json={"slug": f"orphan-{unique}", "name": "x", "parent_id": 99999999},
        headers=auth_headers("merchandiser"),
    )
    assert "parent_id" in assert_error(response, 400, "CATEGORY_NOT_FOUND")["details"]["fields"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/categories/99999999", None),
        ("PATCH", "/categories/99999999", {"name": "x"}),
        ("DELETE", "/categories/99999999", None),
        ("GET", "/categories/99999999/attributes", None),
        ("PUT", "/categories/99999999/attributes", []),
    ],
)
async def test_unknown_category_is_404(
    client: Client, auth_headers: Headers, method: str, path: str, body: Any
) -> None:
    response = await client.request(method, path, json=body, headers=auth_headers("admin"))
    assert assert_error(response, 404, "CATEGORY_NOT_FOUND")["details"] == {"category_id": 99999999}


async def test_moving_a_category_rewrites_every_descendant(
    client: Client, auth_headers: Headers, unique: str
) -> None:
    old = await make_category(client, auth_headers, f"old-{unique}")
    new = await make_category(client, auth_headers, f"new-{unique}")
    deep = await make_category(client, auth_headers, "deep", new["id"])
    moved = await make_category(client, auth_headers, "moved", old["id"])
    child = await make_category(client, auth_headers, "child", moved["id"])
    grandchild = await make_category(client, auth_headers, "grandchild", child["id"])
    product = await make_product(client, auth_headers, grandchild["id"])

    response = await patch(client, auth_headers, moved["id"], parent_id=deep["id"])
    assert response.status_code == 200, response.text
    prefix = f"new-{unique}/deep/moved"
    assert (response.json()["path"], response.json()["depth"], response.json()["parent_id"]) == (
        prefix,
        2,
        deep["id"],
    )
    got_child = await get_json(client, auth_headers, f"/categories/{child['id']}")
    got_grandchild = await get_json(client, auth_headers, f"/categories/{grandchild['id']}")
    assert (got_child["path"], got_child["depth"]) == (f"{prefix}/child", 3)
    assert (got_grandchild["path"], got_grandchild["depth"]) == (f"{prefix}/child/grandchild", 4)
    assert got_grandchild["parent_id"] == child["id"]

    after = await get_json(client, auth_headers, f"/products/{product['id']}")
    assert after["category"]["path"] == f"{prefix}/child/grandchild"
    assert after["version"] > product["version"]  # re-indexed with its new category path
    old_subtree = [
        c
        for c in await get_json(client, auth_headers, "/categories")
        if c["path"].startswith(f"old-{unique}/")
    ]
    assert old_subtree == []


async def test_moving_to_the_top_level_and_changing_the_slug(
    client: Client, auth_headers: Headers, unique: str
) -> None:
    root = await make_category(client, auth_headers, f"r-{unique}")
    branch = await make_category(client, auth_headers, "branch", root["id"])
    leaf = await make_category(client, auth_headers, "leaf", branch["id"])

    response = await patch(client, auth_headers, branch["id"], parent_id=None, slug=f"top-{unique}")
    assert response.status_code == 200, response.text
    assert (response.json()["path"], response.json()["depth"], response.json()["parent_id"]) == (
        f"top-{unique}",
        0,
        None,
    )
    got_leaf = await get_json(client, auth_headers, f"/categories/{leaf['id']}")
    assert (got_leaf["path"], got_leaf["depth"]) == (f"top-{unique}/leaf", 1)


async def test_rename_keeps_the_path(client: Client, auth_headers: Headers, unique: str) -> None:
    category = await make_category(client, auth_headers, f"ren-{unique}", name="Old name")
    response = await patch(client, auth_headers, category["id"], name="New name")
    assert response.status_code == 200, response.text
    assert response.json() == {**category, "name": "New name"}
    unchanged = await patch(client, auth_headers, category["id"])
    assert unchanged.status_code == 200 and unchanged.json()["name"] == "New name"


async def test_cycles_are_refused(client: Client, auth_headers: Headers, unique: str) -> None:
    top = await make_category(client, auth_headers, f"cyc-{unique}")
    mid = await make_category(client, auth_headers, "mid", top["id"])
    low = await make_category(client, auth_headers, "low", mid["id"])
    for target in (low, mid, top):
        body = assert_error(
            await patch(client, auth_headers, top["id"], parent_id=target["id"]), 400, "CATEGORY_CYCLE"
        )
        assert "parent_id" in body["details"]["fields"]
    assert (await get_json(client, auth_headers, f"/categories/{low['id']}"))[
        "path"
    ] == f"cyc-{unique}/mid/low"


async def test_move_or_reslug_onto_a_taken_path_is_409(
    client: Client, auth_headers: Headers, unique: str
) -> None:
    a = await make_category(client, auth_headers, f"a-{unique}")
    b = await make_category(client, auth_headers, f"b-{unique}")
    await make_category(client, auth_headers, "same", a["id"])
    same_in_b = await make_category(client, auth_headers, "same", b["id"])
    other = await make_category(client, auth_headers, "other", a["id"])
    assert_error(
        await patch(client, auth_headers, same_in_b["id"], parent_id=a["id"]), 409, "CATEGORY_ALREADY_EXISTS"
    )
    assert_error(await patch(client, auth_headers, other["id"], slug="same"), 409, "CATEGORY_ALREADY_EXISTS")
    assert_error(
        await patch(client, auth_headers, other["id"], parent_id=99999999), 400, "CATEGORY_NOT_FOUND"
    )


async def test_delete_refuses_non_empty_categories(
    client: Client, auth_headers: Headers, unique: str
) -> None:
    parent = await make_category(client, auth_headers, f"del-{unique}")
    child = await make_category(client, auth_headers, "child", parent["id"])
    product = await make_product(client, auth_headers, child["id"])
    headers = auth_headers("merchandiser")

    body = assert_error(
        await client.delete(f"/categories/{parent['id']}", headers=headers), 409, "CATEGORY_NOT_EMPTY"
    )
    assert body["details"] == {"children": 1, "products": 0}
    body = assert_error(
        await client.delete(f"/categories/{child['id']}", headers=headers), 409, "CATEGORY_NOT_EMPTY"
    )
    assert body["details"] == {"children": 0, "products": 1}

    assert (await client.delete(f"/products/{product['id']}", headers=headers)).status_code == 204
    assert (await client.delete(f"/categories/{child['id']}", headers=headers)).status_code == 204
    assert (await client.delete(f"/categories/{parent['id']}", headers=headers)).status_code == 204
    assert_error(await client.get(f"/categories/{parent['id']}", headers=headers), 404, "CATEGORY_NOT_FOUND")


ATTRIBUTES = [
    {
        "name": "material",
        "type": "string",
        "allowed_values": ["steel", "plastic"],
        "required": True,
        "facetable": True,
    },
    {"name": "wattage", "type": "number", "allowed_values": None, "required": False, "facetable": False},
]


async def test_attributes_put_replaces_the_set(client: Client, auth_headers: Headers, unique: str) -> None:
    category = await make_category(client, auth_headers, f"attr-{unique}")
    url = f"/categories/{category['id']}/attributes"
    assert await get_json(client, auth_headers, url) == []

    response = await client.put(url, json=ATTRIBUTES, headers=auth_headers("merchandiser"))
    assert response.status_code == 200, response.text
    assert response.json() == ATTRIBUTES
    assert await get_json(client, auth_headers, url) == ATTRIBUTES

    replacement = [{"name": "cordless", "type": "boolean"}]
    response = await client.put(url, json=replacement, headers=auth_headers("merchandiser"))
    assert response.json() == [
        {"name": "cordless", "type": "boolean", "allowed_values": None, "required": False, "facetable": True}
    ]
    assert (await client.put(url, json=[], headers=auth_headers("merchandiser"))).json() == []


@pytest.mark.parametrize(
    ("definitions", "field"),
    [
        ([{"name": "a"}, {"name": "a"}], "[1].name"),
        ([{"name": "size", "type": "number", "allowed_values": ["big"]}], "[0].allowed_values"),
        ([{"name": "size", "type": "number", "allowed_values": [True]}], "[0].allowed_values"),
        ([{"name": "size", "allowed_values": []}], "[0].allowed_values"),
        ([{"name": "size", "allowed_values": ["s", "s"]}], "[0].allowed_values"),
    ],
)
async def test_invalid_attribute_definitions_are_400(
    client: Client, auth_headers: Headers, unique: str, definitions: list[dict[str, Any]], field: str
) -> None:
    category = await make_category(client, auth_headers, f"bad-{unique}")
    response = await client.put(
        f"/categories/{category['id']}/attributes", json=definitions, headers=auth_headers("merchandiser")
    )
    assert field in assert_error(response, 400, "INVALID_ATTRIBUTE_DEFINITIONS")["details"]["fields"]


@pytest.mark.parametrize(
    "definition", [{"name": "Bad Name"}, {"name": "x", "type": "date"}, {"type": "string"}]
)
async def test_malformed_attribute_definitions_are_400(
    client: Client, auth_headers: Headers, unique: str, definition: dict[str, Any]
) -> None:
    category = await make_category(client, auth_headers, f"mal-{unique}")
    response = await client.put(
        f"/categories/{category['id']}/attributes", json=[definition], headers=auth_headers("merchandiser")
    )
    assert_error(response, 400, "VALIDATION_ERROR")


async def test_required_attributes_rescore_the_products_below(
    client: Client, auth_headers: Headers, unique: str
) -> None:
    root = await make_category(client, auth_headers, f"score-{unique}")
    child = await make_category(client, auth_headers, "child", root["id"])
    product = await make_product(client, auth_headers, child["id"], attributes={"color": "red"})
    assert "attributes.material" not in product["missing_fields"]

    response = await client.put(
        f"/categories/{root['id']}/attributes", json=ATTRIBUTES, headers=auth_headers("merchandiser")
    )
    assert response.status_code == 200, response.text
    after = await get_json(client, auth_headers, f"/products/{product['id']}")
    assert "attributes.material" in after["missing_fields"]
    assert after["completeness"] < product["completeness"]


async def test_moving_under_a_category_with_required_attributes_rescores(
    client: Client, auth_headers: Headers, unique: str
) -> None:
    strict = await make_category(client, auth_headers, f"strict-{unique}")
    await client.put(f"/categories/{strict['id']}/attributes", json=ATTRIBUTES, headers=auth_headers("admin"))
    loose = await make_category(client, auth_headers, f"loose-{unique}")
    product = await make_product(client, auth_headers, loose["id"])
    assert "attributes.material" not in product["missing_fields"]

    assert (await patch(client, auth_headers, loose["id"], parent_id=strict["id"])).status_code == 200
    after = await get_json(client, auth_headers, f"/products/{product['id']}")
    assert "attributes.material" in after["missing_fields"]
