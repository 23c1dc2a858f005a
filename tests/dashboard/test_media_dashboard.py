"""The dashboard's worst-records table and product drill-down show the uploaded image's thumbnail."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import psycopg
import pytest

from catalog.settings import Settings
from db.media import media_url, thumbnail_key
from stack.postgres_server import drop_database
from tests.helpers.dashboard import create_database, dashboard_env, open_page, table


@pytest.fixture(scope="module")
def media_db(stack: Settings) -> Iterator[tuple[str, int, int]]:
    """A database of its own with two incomplete products: one with an uploaded image whose 200 px thumbnail is
    ready, one with only an external URL. Rows only: the dashboard reads PostgreSQL, never the store."""
    name = f"{stack.postgres_db}_media_dashboard"
    create_database(stack, name)
    with dashboard_env(name) as settings, psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        with_image = conn.execute(
            "INSERT INTO products (sku, name, price, currency, images) "
            "VALUES ('MEDIA-1', 'Lamp with a photo', 10, 'USD', '[]') RETURNING id"
        ).fetchone()
        without = conn.execute(
            "INSERT INTO products (sku, name, price, currency, images, completeness) "
            "VALUES ('MEDIA-2', 'Lamp without', 10, 'USD', '[\"https://img.example.com/x.jpg\"]', 1) RETURNING id"
        ).fetchone()
        assert with_image and without
        sha = "a" * 64
        image = conn.execute(
            "INSERT INTO product_images (product_id, key, sha256, content_type, width, height, bytes) "
            "VALUES (%s, %s, %s, 'image/jpeg', 1200, 800, 1000) RETURNING id",
            (with_image[0], f"products/{with_image[0]}/{sha}.jpg", sha),
        ).fetchone()
        assert image
        for size in (200, 600):
            conn.execute(
                "INSERT INTO image_thumbnails (image_id, size, key) VALUES (%s, %s, %s)",
                (image[0], size, thumbnail_key(with_image[0], sha, size)),
            )
        conn.execute("UPDATE image_thumbnails SET status = 'ready' WHERE image_id = %s", (image[0],))
        yield name, int(with_image[0]), int(without[0])
    drop_database(stack, name)


def test_worst_records_show_the_200_px_thumbnail(media_db: tuple[str, int, int]) -> None:
    name, with_image, without = media_db
    with dashboard_env(name):
        at = open_page("quality")
        worst = table(at, "missing_fields").set_index("id")
        assert worst.loc[with_image, "thumbnail"] == media_url(thumbnail_key(with_image, "a" * 64, 200))
        assert pd.isna(worst.loc[without, "thumbnail"])


def test_the_product_drill_down_shows_its_images_uploads_first(media_db: tuple[str, int, int]) -> None:
    name, with_image, _ = media_db
    with dashboard_env(name):
        at = open_page("quality", quality_product=with_image)
        images = at.get("image")
        assert images, "the drill-down shows the product's images"
        urls = [img.url for element in images for img in element.proto.imgs]
        assert urls == [media_url(thumbnail_key(with_image, "a" * 64, 200))]
        assert any(m.label == "Completeness" for m in at.metric)
