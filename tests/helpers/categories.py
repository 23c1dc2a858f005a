"""Shared by the /categories tests: a category and a product in it through the API, reads, patches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers.factories import product_payload

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


async def make_category(
    client: Client, headers: Headers, slug: str, parent_id: int | None = None, name: str | None = None
) -> dict[str, Any]:
    body = {"slug": slug, "name": name or slug.title(), "parent_id": parent_id}
    response = await client.post("/categories", json=body, headers=headers("merchandiser"))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def make_product(
    client: Client, headers: Headers, category_id: int, **overrides: Any
) -> dict[str, Any]:
    body = product_payload(category_id=category_id, **overrides)
    response = await client.post("/products", json=body, headers=headers("merchandiser"))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def get_json(client: Client, headers: Headers, path: str) -> Any:
    response = await client.get(path, headers=headers("analyst"))
    assert response.status_code == 200, response.text
    return response.json()


async def patch(client: Client, headers: Headers, category_id: int, **changes: Any) -> Any:
    return await client.patch(f"/categories/{category_id}", json=changes, headers=headers("merchandiser"))
