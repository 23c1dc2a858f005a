"""The /categories routes: who may read and write, create with path and depth, the flat list and the nested
tree, product counts over the subtree, duplicate paths, bad input and unknown ids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers.api import assert_error, assert_validation_error_names
from tests.helpers.categories import get_json, make_category, make_product

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


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
