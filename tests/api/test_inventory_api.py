"""Warehouses and stock: absolute sets, guarded adjustments that never oversell, even 50 at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient, TestClient
from sqlalchemy import Engine, text

from tests.helpers.api import assert_error, assert_validation_error_names, in_parallel
from tests.helpers.factories import product_payload

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]




async def make_warehouse(client: Client, headers: Headers, unique: str, prefix: str = "WH") -> dict[str, Any]:
    body = {"code": f"{prefix}-{unique.upper()}", "name": f"Warehouse {prefix} {unique}"}
    response = await client.post("/warehouses", json=body, headers=headers("merchandiser"))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def make_product(client: Client, headers: Headers) -> dict[str, Any]:
    response = await client.post("/products", json=product_payload(), headers=headers("merchandiser"))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def set_stock(
    client: Client, headers: Headers, product_id: int, warehouse_id: int, on_hand: int, reserved: int = 0
) -> Any:
    return await client.put(
        f"/products/{product_id}/stock",
        headers=headers("merchandiser"),
        json={"warehouse_id": warehouse_id, "on_hand": on_hand, "reserved": reserved},
    )


async def adjust(client: Client, headers: Headers, product_id: int, warehouse_id: int, **deltas: Any) -> Any:
    return await client.post(
        f"/products/{product_id}/stock/adjustments",
        headers=headers("merchandiser"),
        json={"warehouse_id": warehouse_id, **deltas},
    )


def row_of(stock: dict[str, Any], warehouse_id: int) -> dict[str, Any]:
    return next(r for r in stock["warehouses"] if r["warehouse_id"] == warehouse_id)


def max_outbox_id(engine: Engine, product_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT max(id) FROM outbox WHERE product_id = :id"), {"id": product_id}
            ).scalar_one()
        )


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


# --- adjustments -----------------------------------------------------------------------------------------


async def test_adjustment_creates_a_missing_row_and_changes_quantities(
    client: Client, auth_headers: Headers, unique: str, engine: Engine
) -> None:
    warehouse = await make_warehouse(client, auth_headers, unique)
    product = await make_product(client, auth_headers)
    pid, wid = product["id"], warehouse["id"]

    response = await adjust(client, auth_headers, pid, wid, on_hand_delta=7, reason="goods received")
    assert response.status_code == 200, response.text
    assert row_of(response.json(), wid)["on_hand"] == 7
    assert int(response.headers["x-catalog-change"]) == max_outbox_id(engine, pid)

    response = await adjust(client, auth_headers, pid, wid, reserved_delta=3)  # reserve for an order
    assert row_of(response.json(), wid) | {"warehouse_code": ""} == {
        "warehouse_id": wid,
        "warehouse_code": "",
        "on_hand": 7,
        "reserved": 3,
        "available": 4,
    }
    response = await adjust(client, auth_headers, pid, wid, on_hand_delta=-3, reserved_delta=-3)  # ship it
    assert (row_of(response.json(), wid)["on_hand"], row_of(response.json(), wid)["reserved"]) == (4, 0)

    with engine.connect() as conn:
        audit = (
            conn.execute(
                text("SELECT changes FROM audit_log WHERE entity = 'stock' AND entity_id = :e ORDER BY id"),
                {"e": f"{pid}:{wid}"},
            )
            .scalars()
            .all()
        )
    assert len(audit) == 3
    assert audit[0]["reason"] == "goods received" and audit[0]["on_hand"] == [None, 7]
    assert "reason" not in audit[1]


async def test_adjustment_that_would_oversell_is_409_and_changes_nothing(
    client: Client, auth_headers: Headers, unique: str, engine: Engine
) -> None:
    warehouse = await make_warehouse(client, auth_headers, unique)
    product = await make_product(client, auth_headers)
    pid, wid = product["id"], warehouse["id"]
    await set_stock(client, auth_headers, pid, wid, 5, 2)
    change = max_outbox_id(engine, pid)

    body = assert_error(
        await adjust(client, auth_headers, pid, wid, on_hand_delta=-4), 409, "INSUFFICIENT_STOCK"
    )
    assert (body["details"]["available"], body["details"]["requested"]) == (3, 4)
    body = assert_error(
        await adjust(client, auth_headers, pid, wid, reserved_delta=4), 409, "INSUFFICIENT_STOCK"
    )
    assert (body["details"]["available"], body["details"]["requested"]) == (3, 4)
    body = assert_error(
        await adjust(client, auth_headers, pid, wid, reserved_delta=-3), 409, "INSUFFICIENT_RESERVED"
    )
    assert (body["details"]["reserved"], body["details"]["requested"]) == (2, 3)

    stock = (await client.get(f"/products/{pid}/stock", headers=auth_headers("analyst"))).json()
    assert stock["totals"] == {"on_hand": 5, "reserved": 2, "available": 3}
    assert max_outbox_id(engine, pid) == change  # a refused adjustment queues nothing


async def test_decrement_without_a_stock_row_is_409(
    client: Client, auth_headers: Headers, unique: str
) -> None:
    warehouse = await make_warehouse(client, auth_headers, unique)
    product = await make_product(client, auth_headers)
    body = assert_error(
        await adjust(client, auth_headers, product["id"], warehouse["id"], on_hand_delta=-1),
        409,
        "INSUFFICIENT_STOCK",
    )
    assert (body["details"]["available"], body["details"]["requested"]) == (0, 1)
    stock = (await client.get(f"/products/{product['id']}/stock", headers=auth_headers("analyst"))).json()
    assert stock["warehouses"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"on_hand_delta": 0, "reserved_delta": 0},
        {},
        {"on_hand_delta": 1.5},
        {"on_hand_delta": 1, "note": "unknown field"},
    ],
)
async def test_invalid_adjustment_is_400(
    client: Client, auth_headers: Headers, unique: str, body: dict[str, Any]
) -> None:
    warehouse = await make_warehouse(client, auth_headers, unique)
    product = await make_product(client, auth_headers)
    assert_error(
        await adjust(client, auth_headers, product["id"], warehouse["id"], **body), 400, "VALIDATION_ERROR"
    )


async def test_quantity_overflow_is_400_not_500(client: Client, auth_headers: Headers, unique: str) -> None:
    warehouse = await make_warehouse(client, auth_headers, unique)
    product = await make_product(client, auth_headers)
    await set_stock(client, auth_headers, product["id"], warehouse["id"], 1_000_000_000)
    await adjust(client, auth_headers, product["id"], warehouse["id"], on_hand_delta=1_000_000_000)
    response = await adjust(client, auth_headers, product["id"], warehouse["id"], on_hand_delta=1_000_000_000)
    assert_error(response, 400, "QUANTITY_OUT_OF_RANGE")


# The shared AsyncTestClient hands each request to the app synchronously, so asyncio.gather over it runs them
# one by one. Real concurrency needs threads: each thread's request runs as its own task in the app's loop.




def new_stock_target(client: TestClient[Litestar], headers: dict[str, str], unique: str) -> tuple[str, int]:
    """A fresh warehouse and product: the product's stock URL and the warehouse id."""
    warehouse = client.post("/warehouses", json={"code": f"T-{unique.upper()}", "name": "t"}, headers=headers)
    product = client.post("/products", json=product_payload(), headers=headers)
    assert warehouse.status_code == product.status_code == 201
    return f"/products/{product.json()['id']}/stock", warehouse.json()["id"]


def test_fifty_concurrent_decrements_never_oversell(
    threaded_client: TestClient[Litestar], auth_headers: Headers, unique: str, engine: Engine
) -> None:
    headers = auth_headers("merchandiser")
    stock_url, warehouse_id = new_stock_target(threaded_client, headers, unique)
    body = {"warehouse_id": warehouse_id, "on_hand": 20, "reserved": 0}
    assert threaded_client.put(stock_url, json=body, headers=headers).status_code == 200

    decrement = {"warehouse_id": warehouse_id, "on_hand_delta": -1}
    responses = in_parallel(
        [lambda: threaded_client.post(f"{stock_url}/adjustments", json=decrement, headers=headers)] * 50
    )

    assert Counter(r.status_code for r in responses) == {200: 20, 409: 30}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"INSUFFICIENT_STOCK"}
    with engine.connect() as conn:
        on_hand = conn.execute(
            text("SELECT on_hand FROM inventory WHERE warehouse_id = :w"), {"w": warehouse_id}
        ).scalar_one()
    assert on_hand == 0
    assert threaded_client.get(stock_url, headers=headers).json()["totals"] == {
        "on_hand": 0,
        "reserved": 0,
        "available": 0,
    }


def test_concurrent_first_adjustments_of_a_missing_row_all_apply(
    threaded_client: TestClient[Litestar], auth_headers: Headers, unique: str
) -> None:
    headers = auth_headers("merchandiser")
    stock_url, warehouse_id = new_stock_target(threaded_client, headers, unique)
    increment = {"warehouse_id": warehouse_id, "on_hand_delta": 2}

    responses = in_parallel(
        [lambda: threaded_client.post(f"{stock_url}/adjustments", json=increment, headers=headers)] * 10
    )

    assert {r.status_code for r in responses} == {200}
    assert threaded_client.get(stock_url, headers=headers).json()["totals"]["on_hand"] == 20
