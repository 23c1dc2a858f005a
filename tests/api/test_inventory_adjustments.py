"""Stock adjustments: guarded deltas that create a missing row, never oversell (409, nothing changed), refuse
bad and overflowing input, and stay exact with 50 at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient, TestClient
from sqlalchemy import Engine, text

from tests.helpers.api import assert_error, in_parallel
from tests.helpers.factories import product_payload
from tests.helpers.inventory import adjust, make_product, make_warehouse, max_outbox_id, row_of, set_stock

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


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
