"""The quality rule on uploaded images ("image too small"), and `catalog media gc` finding the objects no row
points to (what a crash between writing the object and writing its row leaves)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.quality.background import wait_for_recomputes
from catalog.settings import PROJECT_ROOT, Settings
from db.media import image_key
from tests.helpers.api import assert_error
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.factories import product_payload
from tests.helpers.media import jpeg, multipart

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]
BIN = Path(sys.executable).parent


async def missing_fields(client: Client, auth_headers: Headers, product_id: int) -> list[str]:
    product = (await client.get(f"/products/{product_id}", headers=auth_headers("analyst"))).json()
    return list(product["missing_fields"])


async def test_a_rule_for_uploaded_images_of_a_minimum_width_reports_image_too_small(
    client: Client, auth_headers: Headers, catalog_rows: CatalogRows, media_bucket: str, unique: str
) -> None:
    writer = auth_headers("merchandiser")
    category = catalog_rows.category(f"media-{unique}")
    rule = await client.post(
        "/quality/rules",
        json={"field": "uploaded_images", "category_id": category, "min_length": 1, "min_width": 800},
        headers=writer,
    )
    assert rule.status_code == 201, rule.text
    assert (rule.json()["min_length"], rule.json()["min_width"]) == (1, 800)
    assert await wait_for_recomputes(20.0)

    product_id = (await client.post("/products", json=product_payload(category_id=category), headers=writer)).json()[
        "id"
    ]
    assert "uploaded_images" in await missing_fields(client, auth_headers, product_id)

    small = await client.post(f"/products/{product_id}/images", headers=writer, **multipart(jpeg(400, 300)))
    assert small.status_code == 201, small.text
    missing = await missing_fields(client, auth_headers, product_id)
    assert "image too small" in missing and "uploaded_images" not in missing
    report = await client.get(
        "/quality/products", params={"category_id": category, "missing": "image too small"}, headers=writer
    )
    assert report.status_code == 200, report.text
    assert [(p["id"], "image too small" in p["missing_fields"]) for p in report.json()] == [(product_id, True)]

    large = await client.post(f"/products/{product_id}/images", headers=writer, **multipart(jpeg(600, 1000)))
    assert large.status_code == 201, large.text  # 1000 px on the long side
    missing = await missing_fields(client, auth_headers, product_id)
    assert "image too small" not in missing and "uploaded_images" not in missing

    deleted = await client.delete(f"/products/{product_id}/images/{large.json()['id']}", headers=writer)
    assert deleted.status_code == 204
    assert "image too small" in await missing_fields(client, auth_headers, product_id)


async def test_min_width_only_applies_to_uploaded_images(client: Client, auth_headers: Headers) -> None:
    response = await client.post(
        "/quality/rules", json={"field": "brand", "min_width": 800}, headers=auth_headers("merchandiser")
    )
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert "min_width" in body["details"]["fields"]


def media_gc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "catalog"), "media", "gc", "--min-age-minutes", "0", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_gc_finds_the_object_a_crash_left_without_a_row_and_removes_it_only_with_apply(
    client: Client, auth_headers: Headers, settings: Settings, catalog_rows: CatalogRows, media_bucket: str
) -> None:
    from media.store import MediaStore

    writer = auth_headers("merchandiser")
    store = MediaStore(settings)
    product_id = (await client.post("/products", json=product_payload(), headers=writer)).json()["id"]
    kept = (await client.post(f"/products/{product_id}/images", headers=writer, **multipart(jpeg(300, 300)))).json()
    # The upload's first step done, then the process died before its row was written:
    orphan = image_key(product_id, "e" * 64, "jpg")
    store.put(orphan, jpeg(200, 200, color=(0, 0, 0)), "image/jpeg")
    # A deleted product's images lose their rows with it; their objects stay behind for gc.
    gone = catalog_rows.product()
    gone_image = (await client.post(f"/products/{gone}/images", headers=writer, **multipart(jpeg(90, 90)))).json()
    catalog_rows.delete(gone)
    gone_key = gone_image["url"].split("/media/", 1)[1]

    dry = media_gc()
    assert dry.returncode == 0, dry.stderr
    assert orphan in dry.stdout and gone_key in dry.stdout
    assert "dry run" in dry.stdout
    assert store.head(orphan) is not None  # a dry run deletes nothing

    applied = media_gc("--apply")
    assert applied.returncode == 0, applied.stderr
    assert store.head(orphan) is None and store.head(gone_key) is None
    kept_key = kept["url"].split("/media/", 1)[1]
    assert store.head(kept_key) is not None
    served = await client.get(kept["url"])
    assert served.status_code == 200

    again = media_gc()
    assert "0 orphans" in again.stdout


async def test_gc_spares_objects_younger_than_the_minimum_age(settings: Settings, media_bucket: str) -> None:
    from media.store import MediaStore

    store = MediaStore(settings)
    young = image_key(1_000_000_001, "d" * 64, "png")
    store.put(young, b"not even an image; a row may still be on its way", "image/png")
    listing = subprocess.run(
        [str(BIN / "catalog"), "media", "gc", "--apply"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listing.returncode == 0, listing.stderr
    assert store.head(young) is not None
    store.delete([young])


def test_gc_help_says_it_is_a_dry_run_by_default() -> None:
    result = subprocess.run(
        [str(BIN / "catalog"), "media", "gc", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "--apply" in result.stdout and "--min-age-minutes" in result.stdout
