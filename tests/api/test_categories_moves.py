"""Moving categories: a move or a new slug rewrites every descendant's path, a rename keeps it, cycles and taken
paths are refused, non-empty categories are not deleted."""

from __future__ import annotations

from collections.abc import Callable

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers.api import assert_error
from tests.helpers.categories import get_json, make_category, make_product, patch

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


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
