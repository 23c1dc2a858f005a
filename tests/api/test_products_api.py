"""The /products API contract, plus PATCH, by-sku, ETag/If-Match and bulk upsert."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient, TestClient
from sqlalchemy import Engine, text

from tests.helpers.api import assert_error, assert_validation_error_names, in_parallel
from tests.helpers.factories import product_payload

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


async def create(client: Client, headers: Headers, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/products", json=product_payload(**overrides), headers=headers("merchandiser"))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/products"),
        ("POST", "/products"),
        ("GET", "/products/1"),
        ("PUT", "/products/1"),
        ("PATCH", "/products/1"),
        ("DELETE", "/products/1"),
        ("GET", "/products/by-sku/X"),
        ("POST", "/products/bulk"),
    ],
)
async def test_every_products_route_needs_a_valid_token(client: Client, method: str, path: str) -> None:
    response = await client.request(method, path, json={})
    assert_error(response, 401, "NOT_AUTHENTICATED")
    response = await client.request(method, path, json={}, headers={"Authorization": "Bearer not.a.token"})
    assert_error(response, 401, "INVALID_TOKEN")


async def test_create_returns_201_with_the_product_and_defaults(client: Client, auth_headers: Headers) -> None:
    body = product_payload()
    del body["brand"]
    response = await client.post("/products", json=body, headers=auth_headers("merchandiser"))
    assert response.status_code == 201
    product = response.json()
    assert isinstance(product["id"], int)
    assert product["sku"] == body["sku"]
    assert product["currency"] == "USD"
    assert product["status"] == "draft"
    assert product["category"] is None
    assert product["price"] == 39.99
    assert product["version"] == 1
    assert product["stock"] == {"on_hand": 0, "reserved": 0, "available": 0, "in_stock": False}
    assert "category" in product["missing_fields"] and "brand" in product["missing_fields"]
    assert product["completeness"] < 100
    assert response.headers["etag"] == '"1"'
    assert int(response.headers["x-catalog-change"]) > 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "no sku", "price": 1}, "sku"),
        ({"sku": "NO-NAME", "price": 1}, "name"),
        ({"sku": "NO-PRICE", "name": "x"}, "price"),
        ({"sku": "NEG", "name": "x", "price": -1}, "price"),
        ({"sku": "CUR", "name": "x", "price": 1, "currency": "dollars"}, "currency"),
        ({"sku": "ST", "name": "x", "price": 1, "status": "sold"}, "status"),
        ({"sku": "IMG", "name": "x", "price": 1, "images": ["not a url"]}, "images"),
        ({"sku": "bad sku!", "name": "x", "price": 1}, "sku"),
        ({"sku": "EXTRA", "name": "x", "price": 1, "unknown": 1}, "unknown"),
    ],
)
async def test_invalid_input_is_400_naming_the_field(
    client: Client, auth_headers: Headers, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/products", json=body, headers=auth_headers("admin"))
    assert_validation_error_names(response, field)


async def test_price_with_three_decimals_is_rejected(client: Client, auth_headers: Headers) -> None:
    response = await client.post("/products", json=product_payload(price="1.005"), headers=auth_headers("admin"))
    assert_error(response, 400, "VALIDATION_ERROR")


async def test_malformed_json_is_400(client: Client, auth_headers: Headers) -> None:
    response = await client.post(
        "/products", content=b"{not json", headers={**auth_headers("admin"), "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


async def test_duplicate_sku_is_409_case_insensitively(client: Client, auth_headers: Headers) -> None:
    product = await create(client, auth_headers)
    response = await client.post(
        "/products", json=product_payload(sku=product["sku"].lower()), headers=auth_headers("admin")
    )
    assert_error(response, 409, "SKU_ALREADY_EXISTS")


async def test_get_and_404(client: Client, auth_headers: Headers) -> None:
    product = await create(client, auth_headers)
    response = await client.get(f"/products/{product['id']}", headers=auth_headers("analyst"))
    assert response.status_code == 200
    assert response.json() == product
    assert_error(await client.get("/products/999999999", headers=auth_headers("analyst")), 404, "PRODUCT_NOT_FOUND")


async def test_by_sku_is_case_insensitive(client: Client, auth_headers: Headers) -> None:
    product = await create(client, auth_headers)
    response = await client.get(f"/products/by-sku/{product['sku'].lower()}", headers=auth_headers("analyst"))
    assert response.json()["id"] == product["id"]
    assert_error(await client.get("/products/by-sku/NOPE-X", headers=auth_headers("analyst")), 404, "PRODUCT_NOT_FOUND")


async def test_put_keeps_fields_left_out_and_bumps_version(client: Client, auth_headers: Headers) -> None:
    product = await create(client, auth_headers)
    response = await client.put(
        f"/products/{product['id']}", json={"price": 45.5}, headers=auth_headers("merchandiser")
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["price"] == 45.5
    assert updated["name"] == product["name"] and updated["brand"] == product["brand"]
    assert updated["version"] == product["version"] + 1
    assert response.headers["etag"] == f'"{updated["version"]}"'
    assert_error(
        await client.put("/products/999999999", json={"price": 1}, headers=auth_headers("admin")),
        404,
        "PRODUCT_NOT_FOUND",
    )
    assert_error(
        await client.put(f"/products/{product['id']}", json={"price": -3}, headers=auth_headers("admin")),
        400,
        "VALIDATION_ERROR",
    )


async def test_patch_can_clear_a_nullable_field(client: Client, auth_headers: Headers) -> None:
    product = await create(client, auth_headers)
    response = await client.patch(
        f"/products/{product['id']}", json={"brand": None}, headers=auth_headers("merchandiser")
    )
    assert response.status_code == 200
    assert response.json()["brand"] is None
    assert "brand" in response.json()["missing_fields"]


async def test_delete_is_204_then_404(client: Client, auth_headers: Headers) -> None:
    product = await create(client, auth_headers)
    response = await client.delete(f"/products/{product['id']}", headers=auth_headers("merchandiser"))
    assert response.status_code == 204
    assert response.content == b""
    assert_error(
        await client.delete(f"/products/{product['id']}", headers=auth_headers("merchandiser")),
        404,
        "PRODUCT_NOT_FOUND",
    )
    assert_error(
        await client.get(f"/products/{product['id']}", headers=auth_headers("admin")), 404, "PRODUCT_NOT_FOUND"
    )


async def test_stale_if_match_is_412(client: Client, auth_headers: Headers) -> None:
    product = await create(client, auth_headers)
    path = f"/products/{product['id']}"
    first = await client.patch(path, json={"name": "first"}, headers={**auth_headers("admin"), "If-Match": '"1"'})
    assert first.status_code == 200
    body = assert_error(
        await client.patch(path, json={"name": "second"}, headers={**auth_headers("admin"), "If-Match": '"1"'}),
        412,
        "VERSION_MISMATCH",
    )
    assert body["details"] == {"expected_version": 1, "current_version": 2}
    assert_error(
        await client.delete(path, headers={**auth_headers("admin"), "If-Match": '"1"'}), 412, "VERSION_MISMATCH"
    )


def test_concurrent_updates_with_the_same_if_match_exactly_one_wins(
    threaded_client: TestClient[Litestar], auth_headers: Headers
) -> None:
    created = threaded_client.post("/products", json=product_payload(), headers=auth_headers("merchandiser"))
    product = created.json()
    headers = {**auth_headers("merchandiser"), "If-Match": f'"{product["version"]}"'}
    responses = in_parallel(
        [
            (
                lambda i=i: threaded_client.patch(
                    f"/products/{product['id']}", json={"name": f"writer {i}"}, headers=headers
                )
            )
            for i in range(8)
        ]
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 7
    winner = next(r.json()["name"] for r in responses if r.status_code == 200)
    final = threaded_client.get(f"/products/{product['id']}", headers=auth_headers("admin")).json()
    assert final["name"] == winner and final["version"] == product["version"] + 1


async def test_list_paginates_filters_and_counts(client: Client, auth_headers: Headers, unique: str) -> None:
    brand = f"Brand{unique}"
    created = [await create(client, auth_headers, brand=brand, status="active" if i % 2 else "draft") for i in range(5)]
    headers = auth_headers("analyst")
    response = await client.get("/products", params={"brand": brand, "skip": 1, "limit": 2}, headers=headers)
    assert response.status_code == 200
    assert response.headers["x-total-count"] == "5"
    assert [p["id"] for p in response.json()] == [p["id"] for p in created[1:3]]
    active = await client.get("/products", params={"brand": brand, "status": "active"}, headers=headers)
    assert {p["id"] for p in active.json()} == {p["id"] for p in created if p["status"] == "active"}
    by_sku = await client.get("/products", params={"sku": created[0]["sku"].lower()}, headers=headers)
    assert [p["id"] for p in by_sku.json()] == [created[0]["id"]]
    assert_error(await client.get("/products", params={"limit": 0}, headers=headers), 400, "VALIDATION_ERROR")
    assert_error(await client.get("/products", params={"skip": -1}, headers=headers), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("role", ["analyst", "customer"])
async def test_roles_without_catalog_write_get_403(client: Client, auth_headers: Headers, role: str) -> None:
    product = await create(client, auth_headers)
    headers = auth_headers(role)
    writes = [
        client.post("/products", json=product_payload(), headers=headers),
        client.put(f"/products/{product['id']}", json={"price": 1}, headers=headers),
        client.patch(f"/products/{product['id']}", json={"price": 1}, headers=headers),
        client.delete(f"/products/{product['id']}", headers=headers),
        client.post("/products/bulk", json=[product_payload()], headers=headers),
    ]
    for response in await asyncio.gather(*writes):
        assert_error(response, 403, "FORBIDDEN")


async def test_customer_cannot_read_the_catalog(client: Client, auth_headers: Headers) -> None:
    assert_error(await client.get("/products", headers=auth_headers("customer")), 403, "FORBIDDEN")


async def test_audit_and_price_history_are_written_automatically(
    client: Client, auth_headers: Headers, engine: Engine, users_by_role: dict[str, Any]
) -> None:
    product = await create(client, auth_headers)
    await client.patch(f"/products/{product['id']}", json={"price": 50}, headers=auth_headers("merchandiser"))
    await client.patch(f"/products/{product['id']}", json={"name": "renamed"}, headers=auth_headers("merchandiser"))
    with engine.connect() as conn:
        history = conn.execute(
            text("SELECT old_price, new_price, changed_by FROM price_history WHERE product_id = :id ORDER BY id"),
            {"id": product["id"]},
        ).all()
        audit = conn.execute(
            text(
                "SELECT action, changes, actor FROM audit_log WHERE entity = 'product' AND entity_id = :id ORDER BY id"
            ),
            {"id": str(product["id"])},
        ).all()
    merchandiser = users_by_role["merchandiser"]
    assert [(h.old_price, h.new_price) for h in history] == [(None, Decimal("39.99")), (Decimal("39.99"), 50)]
    assert all(h.changed_by == merchandiser for h in history)
    assert [a.action for a in audit] == ["create", "update", "update"]
    assert audit[1].changes["price"] == [39.99, 50.0]
    assert audit[2].changes == {"name": [product["name"], "renamed"]}


async def test_outbox_row_iff_the_write_commits(client: Client, auth_headers: Headers, engine: Engine) -> None:
    product = await create(client, auth_headers)
    before = _outbox_count(engine, product["id"])
    rejected = await client.patch(f"/products/{product['id']}", json={"sku": "bad sku!"}, headers=auth_headers("admin"))
    assert rejected.status_code == 400
    other = await create(client, auth_headers)
    conflict = await client.patch(
        f"/products/{product['id']}", json={"sku": other["sku"]}, headers=auth_headers("admin")
    )
    assert conflict.status_code == 409
    assert _outbox_count(engine, product["id"]) == before
    ok = await client.patch(f"/products/{product['id']}", json={"name": "new"}, headers=auth_headers("admin"))
    assert _outbox_count(engine, product["id"]) == before + 1
    assert int(ok.headers["x-catalog-change"]) == _max_outbox_id(engine, product["id"])


def _outbox_count(engine: Engine, product_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM outbox WHERE product_id = :id"), {"id": product_id}).scalar_one()
        )


def _max_outbox_id(engine: Engine, product_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(text("SELECT max(id) FROM outbox WHERE product_id = :id"), {"id": product_id}).scalar_one()
        )


async def test_bulk_upsert_reports_each_item_and_never_half_writes(
    client: Client, auth_headers: Headers, unique: str
) -> None:
    existing = await create(client, auth_headers)
    items = [
        {"sku": f"B-{unique}-1", "name": "new one", "price": 10},
        {"sku": existing["sku"], "price": 77},
        {"sku": existing["sku"].lower() + "-other", "name": "x"},  # new without price
        {"sku": f"B-{unique}-2", "name": "bad price", "price": -5},
        {"sku": f"B-{unique}-3", "name": "bad category", "price": 3, "category_id": 987654321},
        {"sku": f"B-{unique}-1", "name": "duplicate in request", "price": 1},
    ]
    response = await client.post("/products/bulk", json=items, headers=auth_headers("merchandiser"))
    assert response.status_code == 200, response.text
    result = response.json()
    statuses = [item["status"] for item in result["items"]]
    assert statuses == ["created", "updated", "error", "error", "error", "error"]
    assert result["summary"] == {"created": 1, "updated": 1, "unchanged": 0, "error": 4}
    assert result["items"][4]["error"]["code"] == "CATEGORY_NOT_FOUND"
    again = await client.post("/products/bulk", json=items[:2], headers=auth_headers("merchandiser"))
    assert [item["status"] for item in again.json()["items"]] == ["unchanged", "unchanged"]
    created = await client.get(f"/products/by-sku/B-{unique}-1", headers=auth_headers("admin"))
    assert created.json()["name"] == "new one"
    missing = await client.get(f"/products/by-sku/B-{unique}-3", headers=auth_headers("admin"))
    assert missing.status_code == 404


async def test_bulk_accepts_ndjson(client: Client, auth_headers: Headers, unique: str) -> None:
    lines = b'{"sku": "N-%s-1", "name": "a", "price": 1}\n{broken\n{"sku": "N-%s-2", "name": "b", "price": 2}\n' % (
        unique.encode(),
        unique.encode(),
    )
    response = await client.post(
        "/products/bulk",
        content=lines,
        headers={**auth_headers("merchandiser"), "content-type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    assert [i["status"] for i in response.json()["items"]] == ["created", "error", "created"]
    assert response.json()["items"][1]["error"]["code"] == "MALFORMED_JSON"


async def test_bulk_rejects_a_non_array_body(client: Client, auth_headers: Headers) -> None:
    response = await client.post("/products/bulk", json={"sku": "x"}, headers=auth_headers("merchandiser"))
    assert_error(response, 400, "VALIDATION_ERROR")


async def test_bulk_scores_like_single_writes_and_checks_attribute_definitions(
    client: Client, auth_headers: Headers, unique: str, engine: Engine
) -> None:
    with engine.begin() as conn:
        category_id = conn.execute(
            text("INSERT INTO categories (slug, name, path) VALUES (:s, 'Bulk TVs', :s) RETURNING id"),
            {"s": f"bulk-tv-{unique}"},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO category_attributes (category_id, name, type, allowed_values, required) "
                "VALUES (:c, 'resolution', 'string', '[\"4K\", \"8K\"]', true)"
            ),
            {"c": category_id},
        )
    good = product_payload(sku=f"BQ-{unique}-1", category_id=category_id, attributes={"resolution": "4K"})
    incomplete = product_payload(sku=f"BQ-{unique}-2", category_id=category_id, attributes={})
    bad = product_payload(sku=f"BQ-{unique}-3", category_id=category_id, attributes={"resolution": "720p"})
    response = await client.post("/products/bulk", json=[good, incomplete, bad], headers=auth_headers("admin"))
    items = response.json()["items"]
    assert [i["status"] for i in items] == ["created", "created", "error"]
    assert items[2]["error"]["code"] == "INVALID_ATTRIBUTES"
    assert "attributes.resolution" in items[2]["error"]["details"]["fields"]
    single = await client.post("/products", json={**incomplete, "sku": f"BQ-{unique}-4"}, headers=auth_headers("admin"))
    bulk_incomplete = (await client.get(f"/products/{items[1]['id']}", headers=auth_headers("admin"))).json()
    bulk_good = (await client.get(f"/products/{items[0]['id']}", headers=auth_headers("admin"))).json()
    assert bulk_good["missing_fields"] == []
    assert bulk_good["completeness"] == 100
    assert bulk_incomplete["missing_fields"] == single.json()["missing_fields"] == ["attributes.resolution"]
    assert bulk_incomplete["completeness"] == single.json()["completeness"] < 100
