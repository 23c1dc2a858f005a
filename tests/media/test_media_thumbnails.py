"""Thumbnails are made by the worker process (pending -> ready within seconds) and reach search via the outbox."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image

from indexer.stream import OutboxConsumer
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.factories import product_payload
from tests.helpers.media import eventually, gif, jpeg, multipart

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
async def shop(client: Client, search_index: str, media_bucket: str, thumbnail_worker: Any) -> Client:
    return client


def word(unique: str) -> str:
    return "".join(chr(ord("k") + int(c, 16)) for c in unique)


async def product_with_image(client: Client, auth_headers: Headers, data: bytes, **fields: Any) -> tuple[int, Any]:
    body = product_payload(**{"status": "active", "images": ["https://img.example.com/external.jpg"], **fields})
    created = await client.post("/products", json=body, headers=auth_headers("merchandiser"))
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]
    uploaded = await client.post(
        f"/products/{product_id}/images", headers=auth_headers("merchandiser"), **multipart(data)
    )
    assert uploaded.status_code == 201, uploaded.text
    return product_id, uploaded.json()


async def ready_thumbnails(client: Client, auth_headers: Headers, product_id: int) -> dict[str, Any] | None:
    listing = (await client.get(f"/products/{product_id}/images", headers=auth_headers("analyst"))).json()
    thumbnails: dict[str, Any] = listing[0]["thumbnails"]
    return thumbnails if all(t["status"] == "ready" for t in thumbnails.values()) else None


async def test_thumbnails_go_from_pending_to_ready_and_are_webp_of_200_and_600_px(
    shop: Client, auth_headers: Headers
) -> None:
    product_id, image = await product_with_image(shop, auth_headers, jpeg(1500, 1000))
    assert image["thumbnails"]["200"]["status"] == "pending"
    thumbnails = await eventually(lambda: ready_thumbnails(shop, auth_headers, product_id), 15, "thumbnails ready")
    for size, expected in (("200", (200, 133)), ("600", (600, 400))):
        served = await shop.get(thumbnails[size]["url"])
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/webp"
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        picture = Image.open(io.BytesIO(served.content))
        assert (picture.format, picture.size) == ("WEBP", expected)


async def test_a_small_image_is_never_enlarged(shop: Client, auth_headers: Headers) -> None:
    product_id, _ = await product_with_image(shop, auth_headers, gif(120, 60))
    thumbnails = await eventually(lambda: ready_thumbnails(shop, auth_headers, product_id), 15, "thumbnails ready")
    picture = Image.open(io.BytesIO((await shop.get(thumbnails["600"]["url"])).content))
    assert picture.size == (120, 60)


async def test_search_shows_the_200_px_thumbnail_once_it_is_ready(
    shop: Client, auth_headers: Headers, consumer: OutboxConsumer, catalog_rows: CatalogRows, unique: str
) -> None:
    name = f"Lamp {word(unique)}"
    product_id, image = await product_with_image(shop, auth_headers, jpeg(900, 700), name=name)
    thumbnails = await eventually(lambda: ready_thumbnails(shop, auth_headers, product_id), 15, "thumbnails ready")
    consumer.drain()
    hits = (await shop.get("/search", params={"q": word(unique)})).json()["items"]
    assert [hit["id"] for hit in hits] == [product_id]
    assert hits[0]["image"] == thumbnails["200"]["url"]
    product = (await shop.get(f"/products/{product_id}", headers=auth_headers("analyst"))).json()
    assert product["images"] == [image["url"], "https://img.example.com/external.jpg"]


async def test_thumbnails_of_an_original_missing_from_the_store_are_marked_failed(
    shop: Client, auth_headers: Headers, catalog_rows: CatalogRows
) -> None:
    # A row whose object was removed behind the catalog's back (by hand, in the bucket).
    product_id = catalog_rows.product()
    sha = "f" * 64
    image_id = catalog_rows.scalar(
        "INSERT INTO product_images (product_id, key, sha256, content_type, width, height, bytes) "
        "VALUES (%s, %s, %s, 'image/jpeg', 10, 10, 10) RETURNING id",
        (product_id, f"products/{product_id}/{sha}.jpg", sha),
    )
    for size in (200, 600):
        catalog_rows.conn.execute(
            "INSERT INTO image_thumbnails (image_id, size, key) VALUES (%s, %s, %s)",
            (image_id, size, f"products/{product_id}/{sha}-{size}.webp"),
        )

    async def settled() -> list[Any] | None:
        rows = catalog_rows.conn.execute(
            "SELECT status, error FROM image_thumbnails WHERE image_id = %s", (image_id,)
        ).fetchall()
        return rows if all(status != "pending" for status, _ in rows) else None

    rows = await eventually(settled, 15, "thumbnails settled")
    assert [status for status, _ in rows] == ["failed", "failed"]
    assert all("missing" in error for _, error in rows)
    listing = (await shop.get(f"/products/{product_id}/images", headers=auth_headers("analyst"))).json()
    assert {t["status"] for t in listing[0]["thumbnails"].values()} == {"failed"}
