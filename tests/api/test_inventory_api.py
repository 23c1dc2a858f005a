"""Warehouses and absolute stock: who may read and change inventory, warehouse CRUD, PUT of on-hand and
reserved quantities per warehouse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import Engine

from tests.helpers.api import assert_error, assert_validation_error_names
from tests.helpers.inventory import adjust, make_product, make_warehouse, max_outbox_id, row_of, set_stock

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


# --- warehouses ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/warehouses"),
        ("POST", "/warehouses"),
        ("GET", "/warehouses/1"),
        ("GET", "/products/1/stock"),
        ("PUT", "/products/1/stock"),
        ("POST", "/products/1/stock/adjustments"),
    ],
)
async def test_every_inventory_route_needs_a_token(client: Client, method: str, path: str) -> None:
    assert_error(await client.request(method, path, json={}), 401, "NOT_AUTHENTICATED")


async def test_create_list_and_get_warehouses(client: Client, auth_headers: Headers, unique: str) -> None:
    warehouse = await make_warehouse(client, auth_headers, unique)
    assert warehouse["code"] == f"WH-{unique.upper()}"
    assert isinstance(warehouse["id"], int) and warehouse["created_at"]
    listed = (await client.get("/warehouses", headers=auth_headers("analyst"))).json()
    assert warehouse in listed
    assert [w["code"] for w in listed] == sorted(w["code"] for w in listed)
    response = await client.get(f"/warehouses/{warehouse['id']}", headers=auth_headers("analyst"))
    assert response.status_code == 200 and response.json() == warehouse


async def test_duplicate_warehouse_code_is_409(client: Client, auth_headers: Headers, unique: str) -> None:
    warehouse = await make_warehouse(client, auth_headers, unique)
    response = await client.post(
        "/warehouses", json={"code": warehouse["code"], "name": "Again"}, headers=auth_headers("admin")
    )
    assert assert_error(response, 409, "WAREHOUSE_ALREADY_EXISTS")["details"]["fields"] == {
        "code": warehouse["code"]
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "lower", "name": "x"}, "code"),
        ({"code": "OK", "name": ""}, "name"),
        ({"name": "no code"}, "code"),
    ],
)
async def test_invalid_warehouse_is_400(
    client: Client, auth_headers: Headers, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/warehouses", json=body, headers=auth_headers("admin"))
    assert_validation_error_names(response, field)


async def test_unknown_warehouse_is_404(client: Client, auth_headers: Headers) -> None:
    assert_error(
        await client.get("/warehouses/99999999", headers=auth_headers("analyst")), 404, "WAREHOUSE_NOT_FOUND"
    )


@pytest.mark.parametrize("role", ["analyst", "customer"])
async def test_only_catalog_writers_change_inventory(
    client: Client, auth_headers: Headers, unique: str, role: str
) -> None:
    warehouse = await make_warehouse(client, auth_headers, unique)
    product = await make_product(client, auth_headers)
    headers = auth_headers(role)
    assert_error(
        await client.post("/warehouses", json={"code": "X", "name": "x"}, headers=headers), 403, "FORBIDDEN"
    )
    body = {"warehouse_id": warehouse["id"], "on_hand": 5, "reserved": 0}
    assert_error(
        await client.put(f"/products/{product['id']}/stock", json=body, headers=headers), 403, "FORBIDDEN"
    )
    assert_error(
        await client.post(
            f"/products/{product['id']}/stock/adjustments",
            headers=headers,
            json={"warehouse_id": warehouse["id"], "on_hand_delta": 1},
        ),
        403,
        "FORBIDDEN",
    )


async def test_customers_cannot_read_stock(client: Client, auth_headers: Headers) -> None:
    product = await make_product(client, auth_headers)
    assert_error(
        await client.get(f"/products/{product['id']}/stock", headers=auth_headers("customer")),
        403,
        "FORBIDDEN",
    )
    assert_error(await client.get("/warehouses", headers=auth_headers("customer")), 403, "FORBIDDEN")


# --- absolute stock --------------------------------------------------------------------------------------


async def test_new_product_has_no_stock_and_unknown_product_is_404(
    client: Client, auth_headers: Headers
) -> None:
    product = await make_product(client, auth_headers)
    response = await client.get(f"/products/{product['id']}/stock", headers=auth_headers("analyst"))
    assert response.status_code == 200
    assert response.json() == {
        "product_id": product["id"],
        "warehouses": [],
        "totals": {"on_hand": 0, "reserved": 0, "available": 0},
    }
    for response in (
        await client.get("/products/99999999/stock", headers=auth_headers("analyst")),
        await set_stock(client, auth_headers, 99999999, 1, 1),
        await adjust(client, auth_headers, 99999999, 1, on_hand_delta=1),
    ):
        assert_error(response, 404, "PRODUCT_NOT_FOUND")


async def test_put_sets_absolute_quantities_per_warehouse(
    client: Client, auth_headers: Headers, unique: str, engine: Engine
) -> None:
    east = await make_warehouse(client, auth_headers, unique, "EAST")
    west = await make_warehouse(client, auth_headers, unique, "WEST")
    product = await make_product(client, auth_headers)
    pid = product["id"]

    response = await set_stock(client, auth_headers, pid, east["id"], 10, 3)
    assert response.status_code == 200, response.text
    assert int(response.headers["x-catalog-change"]) == max_outbox_id(engine, pid)
    await set_stock(client, auth_headers, pid, west["id"], 5)
    response = await set_stock(client, auth_headers, pid, east["id"], 8, 2)  # overwrites, not adds
    stock = response.json()
    assert row_of(stock, east["id"]) == {
        "warehouse_id": east["id"],
        "warehouse_code": east["code"],
        "on_hand": 8,
        "reserved": 2,
        "available": 6,
    }
    assert row_of(stock, west["id"])["available"] == 5
    assert stock["totals"] == {"on_hand": 13, "reserved": 2, "available": 11}
    seen = (await client.get(f"/products/{pid}", headers=auth_headers("analyst"))).json()
    assert seen["stock"] == {"on_hand": 13, "reserved": 2, "available": 11, "in_stock": True}
    assert seen["version"] > product["version"]  # stock changes re-index the product


async def test_put_refuses_reserved_above_on_hand(client: Client, auth_headers: Headers, unique: str) -> None:
    warehouse = await make_warehouse(client, auth_headers, unique)
    product = await make_product(client, auth_headers)
    body = assert_error(
        await set_stock(client, auth_headers, product["id"], warehouse["id"], 2, 3),
        400,
        "RESERVED_EXCEEDS_ON_HAND",
    )
    assert "reserved" in body["details"]["fields"]
    assert (body["details"]["on_hand"], body["details"]["reserved"]) == (2, 3)


@pytest.mark.parametrize(
    "body",
    [
        {"warehouse_id": 1, "on_hand": -1, "reserved": 0},
        {"warehouse_id": 1, "on_hand": 1},
        {"on_hand": 1, "reserved": 0},
        {"warehouse_id": 1, "on_hand": "many", "reserved": 0},
    ],
)
async def test_put_with_invalid_body_is_400(
    client: Client, auth_headers: Headers, body: dict[str, Any]
) -> None:
    product = await make_product(client, auth_headers)
    response = await client.put(f"/products/{product['id']}/stock", json=body, headers=auth_headers("admin"))
    assert_error(response, 400, "VALIDATION_ERROR")


async def test_stock_in_an_unknown_warehouse_is_400(client: Client, auth_headers: Headers) -> None:
    product = await make_product(client, auth_headers)
    for response in (
        await set_stock(client, auth_headers, product["id"], 99999999, 1),
        await adjust(client, auth_headers, product["id"], 99999999, on_hand_delta=1),
    ):
        assert "warehouse_id" in assert_error(response, 400, "WAREHOUSE_NOT_FOUND")["details"]["fields"]
