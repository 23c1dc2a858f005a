"""Helpers of the product-group tests: a group and its variants through the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers.factories import product_payload

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


async def new_group(client: Client, headers: Headers, unique: str, **fields: Any) -> dict[str, Any]:
    body = {"code": f"CASE-{unique}", "name": f"Aero Case {unique}", "brand": "Aero",
            "description": "A slim case for the phone you carry everywhere.",
            "images": ["https://img.example.com/case.jpg"], "axes": ["color", "size"], **fields}
    response = await client.post("/product-groups", json=body, headers=headers("merchandiser"))
    assert response.status_code == 201, response.text
    group: dict[str, Any] = response.json()
    return group


async def new_variant(client: Client, headers: Headers, group_id: int, status: int = 201,
                      **fields: Any) -> dict[str, Any]:
    body = {"sku": product_payload()["sku"], "price": 19.0, "group_id": group_id, **fields}
    response = await client.post("/products", json=body, headers=headers("merchandiser"))
    assert response.status_code == status, response.text
    created: dict[str, Any] = response.json()
    return created
