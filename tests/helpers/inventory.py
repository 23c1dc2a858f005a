"""Shared by the inventory tests: a warehouse and a product through the API, stock sets and adjustments, reading
the stock rows and the outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import Engine, text

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
