"""Bad uploads, unknown products, roles, and an object store that is down: the documented error, nothing written."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from catalog.settings import Settings
from tests.helpers.api import assert_error
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.factories import product_payload
from tests.helpers.media import jpeg, multipart, png, png_bomb
from tests.helpers.services import free_port, scratch_dir

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
async def product_id(client: Client, auth_headers: Headers, media_bucket: str) -> int:
    created = await client.post("/products", json=product_payload(), headers=auth_headers("merchandiser"))
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def nothing_written(catalog_rows: CatalogRows, settings: Settings, product_id: int) -> None:
    from media.store import MediaStore

    assert catalog_rows.scalar("SELECT count(*) FROM product_images WHERE product_id = %s", (product_id,)) == 0
    assert catalog_rows.scalar("SELECT count(*) FROM media_uploads WHERE product_id = %s", (product_id,)) == 0
    assert list(MediaStore(settings).iter_objects(f"products/{product_id}/")) == []


async def post_image(client: Client, headers: dict[str, str], product_id: int, data: bytes, **kwargs: Any) -> Any:
    return await client.post(f"/products/{product_id}/images", headers=headers, **multipart(data, **kwargs))


@pytest.mark.parametrize(
    ("what", "data", "filename", "content_type"),
    [
        ("a text file named .jpg", b"just some words, honestly\n" * 40, "photo.jpg", "image/jpeg"),
        ("a truncated PNG", png(400, 300)[:-40], "picture.png", "image/png"),
        ("a PNG cut in half", png(400, 300)[: len(png(400, 300)) // 2], "picture.png", "image/png"),
        ("a truncated JPEG", jpeg(400, 300, noise=True)[:20_000], "photo.jpg", "image/jpeg"),
        ("a PDF", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "photo.jpg", "image/jpeg"),
        ("a BMP (not accepted)", b"BM" + b"\0" * 100, "photo.bmp", "image/bmp"),
        ("an empty file", b"", "photo.jpg", "image/jpeg"),
    ],
)
async def test_what_is_not_an_image_by_its_bytes_is_415(
    client: Client,
    auth_headers: Headers,
    catalog_rows: CatalogRows,
    settings: Settings,
    product_id: int,
    what: str,
    data: bytes,
    filename: str,
    content_type: str,
) -> None:
    response = await post_image(
        client, auth_headers("merchandiser"), product_id, data, filename=filename, content_type=content_type
    )
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    nothing_written(catalog_rows, settings, product_id)


async def test_a_real_bmp_is_refused_too(
    client: Client, auth_headers: Headers, catalog_rows: CatalogRows, settings: Settings, product_id: int
) -> None:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (50, 50)).save(out, "BMP")
    response = await post_image(client, auth_headers("merchandiser"), product_id, out.getvalue())
    body = assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "image/png" in body["details"]["accepted"]
    nothing_written(catalog_rows, settings, product_id)


async def test_an_image_over_the_byte_limit_is_413(
    client: Client, auth_headers: Headers, catalog_rows: CatalogRows, settings: Settings, product_id: int
) -> None:
    data = jpeg(64, 64) + os.urandom(settings.max_image_bytes)  # a valid JPEG header, then too many bytes
    response = await post_image(client, auth_headers("merchandiser"), product_id, data)
    body = assert_error(response, 413, "IMAGE_TOO_LARGE")
    assert body["details"]["max_bytes"] == settings.max_image_bytes
    nothing_written(catalog_rows, settings, product_id)


async def test_a_decompression_bomb_is_400(
    client: Client, auth_headers: Headers, catalog_rows: CatalogRows, settings: Settings, product_id: int
) -> None:
    bomb = png_bomb(20000, 20000)
    assert len(bomb) < 200_000  # small on the wire, 400 M pixels once decoded
    response = await post_image(client, auth_headers("merchandiser"), product_id, bomb, filename="bomb.png")
    body = assert_error(response, 400, "IMAGE_TOO_MANY_PIXELS")
    assert "file" in body["details"]["fields"]
    nothing_written(catalog_rows, settings, product_id)


async def test_a_bomb_below_pillows_own_guard_is_refused_by_the_pixel_limit(
    client: Client, auth_headers: Headers, catalog_rows: CatalogRows, settings: Settings, product_id: int
) -> None:
    bomb = png_bomb(9000, 9000)  # 81 M pixels: over CATALOG_MAX_IMAGE_PIXELS (50 M), under Pillow's 179 M
    response = await post_image(client, auth_headers("merchandiser"), product_id, bomb, filename="big.png")
    body = assert_error(response, 400, "IMAGE_TOO_MANY_PIXELS")
    assert "9000x9000" in body["message"]
    nothing_written(catalog_rows, settings, product_id)


async def test_a_request_without_the_file_field_is_400(client: Client, auth_headers: Headers, product_id: int) -> None:
    response = await client.post(
        f"/products/{product_id}/images",
        headers=auth_headers("merchandiser"),
        files={"picture": ("a.jpg", jpeg(), "image/jpeg")},
    )
    assert_error(response, 400, "VALIDATION_ERROR")
    as_json = await client.post(f"/products/{product_id}/images", headers=auth_headers("merchandiser"), json={})
    assert_error(as_json, 400, "VALIDATION_ERROR")


async def test_an_unknown_product_is_404_on_every_route(
    client: Client, auth_headers: Headers, media_bucket: str
) -> None:
    writer = auth_headers("merchandiser")
    missing = 987_654_321
    calls = [
        client.post(f"/products/{missing}/images", headers=writer, **multipart(jpeg())),
        client.get(f"/products/{missing}/images", headers=writer),
        client.patch(f"/products/{missing}/images/1", headers=writer, json={"alt": "x"}),
        client.delete(f"/products/{missing}/images/1", headers=writer),
        client.post(f"/products/{missing}/images/uploads", headers=writer),
        client.post(f"/products/{missing}/images/uploads/{uuid.uuid4()}/complete", headers=writer),
    ]
    for call in calls:
        assert_error(await call, 404, "PRODUCT_NOT_FOUND")


async def test_an_unknown_image_is_404(client: Client, auth_headers: Headers, product_id: int) -> None:
    writer = auth_headers("merchandiser")
    assert_error(
        await client.patch(f"/products/{product_id}/images/999999", headers=writer, json={"alt": "x"}),
        404,
        "IMAGE_NOT_FOUND",
    )


async def test_bad_patch_bodies_are_400(client: Client, auth_headers: Headers, product_id: int) -> None:
    writer = auth_headers("merchandiser")
    image = (await post_image(client, writer, product_id, jpeg(color=(7, 7, 7)))).json()
    url = f"/products/{product_id}/images/{image['id']}"
    for body in ({"position": -1}, {"alt": "x" * 501}, {"colour": "red"}, {"position": "first"}):
        assert_error(await client.patch(url, headers=writer, json=body), 400, "VALIDATION_ERROR")


async def test_roles_are_those_of_product_writes(
    client: Client, auth_headers: Headers, catalog_rows: CatalogRows, settings: Settings, product_id: int
) -> None:
    image = (await post_image(client, auth_headers("admin"), product_id, jpeg(color=(1, 1, 1)))).json()
    for role in ("analyst", "customer"):
        headers = auth_headers(role)
        assert_error(await post_image(client, headers, product_id, jpeg(color=(2, 2, 2))), 403, "FORBIDDEN")
        patch = await client.patch(f"/products/{product_id}/images/{image['id']}", headers=headers, json={"alt": "x"})
        assert_error(patch, 403, "FORBIDDEN")
        delete = await client.delete(f"/products/{product_id}/images/{image['id']}", headers=headers)
        assert_error(delete, 403, "FORBIDDEN")
        uploads = await client.post(f"/products/{product_id}/images/uploads", headers=headers)
        assert_error(uploads, 403, "FORBIDDEN")
    assert (await client.get(f"/products/{product_id}/images", headers=auth_headers("analyst"))).status_code == 200
    assert_error(await client.get(f"/products/{product_id}/images", headers=auth_headers("customer")), 403, "FORBIDDEN")
    assert_error(await post_image(client, {}, product_id, jpeg(color=(3, 3, 3))), 401, "NOT_AUTHENTICATED")
    assert_error(await client.get(f"/products/{product_id}/images"), 401, "NOT_AUTHENTICATED")
    count = catalog_rows.scalar("SELECT count(*) FROM product_images WHERE product_id = %s", (product_id,))
    assert count == 1
    assert (await client.get(image["url"])).status_code == 200  # media itself is public


# --- the object store down ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_store(settings: Settings, database: str) -> Iterator[Settings]:
    """A versitygw of this module's own on a free port (the shared one is never stopped)."""
    from stack import object_store

    port = free_port()
    own = settings.model_copy(
        update={"stack_dir": scratch_dir("objects"), "s3_endpoint_url": f"http://127.0.0.1:{port}"}
    )
    object_store.start(own, say=lambda _: None)
    yield own
    object_store.stop(own)


@pytest.fixture
async def own_client(own_store: Settings) -> AsyncIterator[Client]:
    from api.app import create_app

    async with AsyncTestClient(app=create_app(own_store)) as test_client:
        yield test_client


async def test_with_the_store_down_uploads_are_503_and_nothing_is_written(
    own_client: Client, own_store: Settings, auth_headers: Headers, catalog_rows: CatalogRows
) -> None:
    from stack import object_store

    writer = auth_headers("merchandiser")
    product_id = (await own_client.post("/products", json=product_payload(), headers=writer)).json()["id"]
    before = catalog_rows.version(product_id)
    object_store.stop(own_store)
    try:
        down = await post_image(own_client, writer, product_id, jpeg(color=(40, 50, 60)))
        body = assert_error(down, 503, "STORAGE_UNAVAILABLE")
        assert body["message"]
        assert down.headers["retry-after"]
        presign = await own_client.post(f"/products/{product_id}/images/uploads", headers=writer)
        assert_error(presign, 503, "STORAGE_UNAVAILABLE")
        assert catalog_rows.scalar("SELECT count(*) FROM product_images WHERE product_id = %s", (product_id,)) == 0
        assert catalog_rows.scalar("SELECT count(*) FROM media_uploads WHERE product_id = %s", (product_id,)) == 0
        assert catalog_rows.version(product_id) == before
        # Reads that need no store still answer.
        assert (await own_client.get(f"/products/{product_id}/images", headers=writer)).json() == []
    finally:
        object_store.start(own_store, say=lambda _: None)
    back = await post_image(own_client, writer, product_id, jpeg(color=(40, 50, 60)))
    assert back.status_code == 201, back.text
    served = await own_client.get(back.json()["url"])
    assert served.status_code == 200


async def test_with_the_store_down_serving_media_is_503(
    own_client: Client, own_store: Settings, auth_headers: Headers
) -> None:
    from stack import object_store

    writer = auth_headers("merchandiser")
    product_id = (await own_client.post("/products", json=product_payload(), headers=writer)).json()["id"]
    image = (await post_image(own_client, writer, product_id, png(50, 50))).json()
    object_store.stop(own_store)
    try:
        assert_error(await own_client.get(image["url"]), 503, "STORAGE_UNAVAILABLE")
        cached = await own_client.get(image["url"], headers={"If-None-Match": f'"{image["sha256"]}"'})
        assert cached.status_code == 304  # a client's cached copy is still good: answered without the store
    finally:
        object_store.start(own_store, say=lambda _: None)
