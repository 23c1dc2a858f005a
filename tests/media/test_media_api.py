"""Product images through the API against the real object store: upload, list, reorder, delete, dedupe, serve."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from catalog.settings import Settings
from db.media import SERVED_KEY
from tests.helpers.api import assert_error
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.factories import product_payload
from tests.helpers.media import eventually, gif, jpeg, multipart, png, webp

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


async def new_product(client: Client, auth_headers: Headers, **fields: Any) -> dict[str, Any]:
    response = await client.post("/products", json=product_payload(**fields), headers=auth_headers("merchandiser"))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def upload(client: Client, auth_headers: Headers, product_id: int, data: bytes, **kwargs: Any) -> Any:
    return await client.post(
        f"/products/{product_id}/images", headers=auth_headers("merchandiser"), **multipart(data, **kwargs)
    )


async def test_upload_answers_201_with_the_image_and_pending_thumbnails(
    client: Client, auth_headers: Headers, media_bucket: str
) -> None:
    product = await new_product(client, auth_headers)
    data = jpeg(800, 600)
    response = await upload(client, auth_headers, product["id"], data)
    assert response.status_code == 201, response.text
    image = response.json()
    assert image["content_type"] == "image/jpeg"
    assert (image["width"], image["height"], image["bytes"]) == (800, 600, len(data))
    assert image["sha256"] == hashlib.sha256(data).hexdigest()
    assert image["position"] == 0
    assert set(image["thumbnails"]) == {"200", "600"}
    assert {t["status"] for t in image["thumbnails"].values()} <= {"pending", "ready"}
    assert "/media/products/" in image["url"]
    served = await client.get(image["url"])
    assert served.status_code == 200
    assert served.content == data
    assert served.headers["content-type"] == "image/jpeg"


async def test_every_accepted_format_is_recognised_by_its_bytes_whatever_the_name(
    client: Client, auth_headers: Headers, media_bucket: str
) -> None:
    product = await new_product(client, auth_headers)
    for data, expected in ((png(), "image/png"), (webp(), "image/webp"), (gif(), "image/gif")):
        response = await upload(client, auth_headers, product["id"], data, filename="x.txt", content_type="text/plain")
        assert response.status_code == 201, response.text
        assert response.json()["content_type"] == expected


async def test_the_product_lists_uploads_first_in_position_order_then_external_urls(
    client: Client, auth_headers: Headers, media_bucket: str
) -> None:
    product = await new_product(client, auth_headers, images=["https://img.example.com/a.jpg"])
    first = (await upload(client, auth_headers, product["id"], jpeg(color=(1, 2, 3)))).json()
    second = (await upload(client, auth_headers, product["id"], png())).json()
    assert (first["position"], second["position"]) == (0, 1)
    read = (await client.get(f"/products/{product['id']}", headers=auth_headers("analyst"))).json()
    assert read["images"] == [first["url"], second["url"], "https://img.example.com/a.jpg"]

    moved = await client.patch(
        f"/products/{product['id']}/images/{second['id']}",
        json={"position": 0, "alt": "Front view"},
        headers=auth_headers("merchandiser"),
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["position"], moved.json()["alt"]) == (0, "Front view")
    listing = (await client.get(f"/products/{product['id']}/images", headers=auth_headers("analyst"))).json()
    assert [(i["id"], i["position"]) for i in listing] == [(second["id"], 0), (first["id"], 1)]
    read = (await client.get(f"/products/{product['id']}", headers=auth_headers("analyst"))).json()
    assert read["images"] == [second["url"], first["url"], "https://img.example.com/a.jpg"]

    # Written back as read, the uploads do not become external URLs.
    put = await client.put(
        f"/products/{product['id']}", json={"images": read["images"]}, headers=auth_headers("merchandiser")
    )
    assert put.status_code == 200, put.text
    assert put.json()["images"] == read["images"]


async def test_the_same_bytes_twice_return_the_existing_image_with_200(
    client: Client, auth_headers: Headers, catalog_rows: CatalogRows, media_bucket: str
) -> None:
    product = await new_product(client, auth_headers)
    data = jpeg(color=(9, 9, 9))
    created = await upload(client, auth_headers, product["id"], data)
    again = await upload(client, auth_headers, product["id"], data, filename="renamed.jpeg")
    assert (created.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == created.json()["id"]
    count = catalog_rows.scalar("SELECT count(*) FROM product_images WHERE product_id = %s", (product["id"],))
    assert count == 1


async def test_delete_removes_the_row_and_its_objects(
    client: Client, auth_headers: Headers, settings: Settings, media_bucket: str, thumbnail_worker: Any
) -> None:
    from media.store import MediaStore

    product = await new_product(client, auth_headers)
    image = (await upload(client, auth_headers, product["id"], jpeg(900, 900))).json()

    async def ready() -> bool:
        listing = (await client.get(f"/products/{product['id']}/images", headers=auth_headers("analyst"))).json()
        return all(t["status"] == "ready" for t in listing[0]["thumbnails"].values())

    await eventually(ready, 30, "both thumbnails ready")
    keys = [image["url"].split("/media/", 1)[1]]
    keys += [t["url"].split("/media/", 1)[1] for t in image["thumbnails"].values()]
    store = MediaStore(settings)
    assert all(store.head(key) for key in keys)

    response = await client.delete(f"/products/{product['id']}/images/{image['id']}", headers=auth_headers("admin"))
    assert response.status_code == 204, response.text
    assert [store.head(key) for key in keys] == [None, None, None]
    listing = await client.get(f"/products/{product['id']}/images", headers=auth_headers("analyst"))
    assert listing.json() == []
    assert (await client.get(image["url"])).status_code == 404
    gone = await client.delete(f"/products/{product['id']}/images/{image['id']}", headers=auth_headers("admin"))
    assert_error(gone, 404, "IMAGE_NOT_FOUND")


async def test_media_is_served_immutable_with_an_etag_and_304_on_if_none_match(
    client: Client, auth_headers: Headers, media_bucket: str
) -> None:
    product = await new_product(client, auth_headers)
    big = jpeg(1200, 900, noise=True)  # larger than one read: streamed
    image = (await upload(client, auth_headers, product["id"], big)).json()
    served = await client.get(image["url"])
    assert served.status_code == 200
    assert served.content == big
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    etag = served.headers["etag"]
    assert etag == f'"{image["sha256"]}"'
    again = await client.get(image["url"], headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    assert again.content == b""
    other = await client.get(image["url"], headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


async def test_unknown_and_uncontent_addressed_media_keys_are_404(client: Client, media_bucket: str) -> None:
    assert_error(await client.get("/media/products/1/" + "a" * 64 + ".jpg"), 404, "MEDIA_NOT_FOUND")
    assert_error(await client.get("/media/uploads/00000000-0000-0000-0000-000000000000"), 404, "MEDIA_NOT_FOUND")
    assert_error(await client.get("/media/products/1/not-a-digest.jpg"), 404, "MEDIA_NOT_FOUND")


async def test_presigned_upload_then_complete_registers_the_image(
    client: Client, auth_headers: Headers, media_bucket: str
) -> None:
    product = await new_product(client, auth_headers)
    started = await client.post(f"/products/{product['id']}/images/uploads", headers=auth_headers("merchandiser"))
    assert started.status_code == 201, started.text
    upload_info = started.json()
    assert upload_info["method"] == "PUT"
    complete_url = upload_info["complete_url"]

    early = await client.post(complete_url, headers=auth_headers("merchandiser"))
    assert_error(early, 400, "UPLOAD_INCOMPLETE")

    data = jpeg(1600, 1200, noise=True)
    put = httpx.put(upload_info["url"], content=data, headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 200, put.text
    completed = await client.post(complete_url, headers=auth_headers("merchandiser"))
    assert completed.status_code == 201, completed.text
    image = completed.json()
    assert (image["content_type"], image["width"], image["height"]) == ("image/jpeg", 1600, 1200)
    assert SERVED_KEY.match(image["url"].split("/media/", 1)[1])
    assert (await client.get(image["url"])).content == data
    twice = await client.post(complete_url, headers=auth_headers("merchandiser"))
    assert twice.status_code == 200
    assert twice.json()["id"] == image["id"]


async def test_a_presigned_upload_that_is_not_an_image_is_refused_415(
    client: Client, auth_headers: Headers, media_bucket: str
) -> None:
    product = await new_product(client, auth_headers)
    upload_info = (
        await client.post(f"/products/{product['id']}/images/uploads", headers=auth_headers("merchandiser"))
    ).json()
    assert httpx.put(upload_info["url"], content=b"GIF89a but not really").status_code == 200
    refused = await client.post(upload_info["complete_url"], headers=auth_headers("merchandiser"))
    assert_error(refused, 415, "UNSUPPORTED_MEDIA_TYPE")
    listing = await client.get(f"/products/{product['id']}/images", headers=auth_headers("analyst"))
    assert listing.json() == []


async def test_an_unknown_upload_is_404(client: Client, auth_headers: Headers, media_bucket: str) -> None:
    product = await new_product(client, auth_headers)
    missing = await client.post(
        f"/products/{product['id']}/images/uploads/00000000-0000-0000-0000-000000000000/complete",
        headers=auth_headers("merchandiser"),
    )
    assert_error(missing, 404, "UPLOAD_NOT_FOUND")
