"""Shared by the /quality tests: complete product data, writes and reads through the API, polling, crafted rules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.factories import product_payload

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]

LONG_TEXT = "A well described product: what it is, what it does and why it is worth buying here."
FULL = {"description": LONG_TEXT, "images": ["https://img.example.com/a.jpg"]}
"""With a brand, a price and a category, everything the default rules ask for."""
POLL_SECONDS = 20.0


async def create(client: Client, headers: Headers, **fields: Any) -> dict[str, Any]:
    body = product_payload(**fields)
    for key, value in list(body.items()):
        if value is None:
            del body[key]
    response = await client.post("/products", json=body, headers=headers("merchandiser"))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def get_ok(client: Client, headers: Headers, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params, headers=headers("analyst"))
    assert response.status_code == 200, response.text
    return response


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `check` until it holds, at most POLL_SECONDS."""
    deadline = time.monotonic() + POLL_SECONDS
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def add_required_attribute(rows: CatalogRows, category_id: int, name: str) -> None:
    rows.conn.execute("INSERT INTO category_attributes (category_id, name, type, required) VALUES (%s, %s, %s, true)",
                      (category_id, name, "string"))


def add_rule(rows: CatalogRows, category_id: int, name: str, weight: int = 1) -> None:
    rows.conn.execute("INSERT INTO quality_rules (category_id, field, weight) VALUES (%s, %s, %s)",
                      (category_id, name, weight))


async def product(client: Client, headers: Headers, product_id: int) -> dict[str, Any]:
    return (await get_ok(client, headers, f"/products/{product_id}")).json()  # type: ignore[no-any-return]
