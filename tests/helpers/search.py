"""Helpers of the storefront search tests: products in through the API, the shopper's view out of GET /search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers.factories import product_payload

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


def word(unique: str) -> str:
    """A letters-only word made from the unique token: typo-able, and unknown to every other test."""
    return "".join(chr(ord("k") + int(c, 16)) for c in unique)


def typo(text: str) -> str:
    """One substituted letter in the middle."""
    middle = len(text) // 2
    return text[:middle] + ("a" if text[middle] != "a" else "e") + text[middle + 1:]


async def create(client: Client, headers: Headers, **fields: Any) -> dict[str, Any]:
    body = product_payload(**{"status": "active", **fields})
    response = await client.post("/products", json=body, headers=headers("merchandiser"))
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    product["change"] = int(response.headers["x-catalog-change"])
    return product


async def search(client: Client, **params: Any) -> dict[str, Any]:
    response = await client.get("/search", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(result: dict[str, Any]) -> list[int]:
    return [item["id"] for item in result["items"]]


def counts(values: list[dict[str, Any]]) -> dict[str, int]:
    return {v["value"]: v["count"] for v in values}
