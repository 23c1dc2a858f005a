"""What the dashboard shows of product media: the thumbnail of a row, and one product's card (its images)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine, text

from db.media import SEARCH_THUMBNAIL, media_url

THUMBNAIL_KEY_SQL = (
    "(SELECT u.value->'thumbnails'->>'{size}' FROM jsonb_array_elements({alias}.uploaded_images) u "
    "WHERE u.value->'thumbnails' ? '{size}' LIMIT 1)"
)


def thumbnail_key_sql(alias: str = "p", size: int = SEARCH_THUMBNAIL) -> str:
    """SQL: the key of the product's first ready thumbnail of `size` px (NULL without one)."""
    return THUMBNAIL_KEY_SQL.format(alias=alias, size=size)


def with_thumbnail_urls(frame: pd.DataFrame, column: str = "thumbnail") -> pd.DataFrame:
    """Turn a column of object keys into the URLs a browser loads (None stays None)."""
    if column in frame.columns:
        frame[column] = [media_url(str(key)) if isinstance(key, str) and key else None for key in frame[column]]
    return frame


def product_card(engine: Engine, product_id: int) -> dict[str, Any] | None:
    """One product for a drill-down: identity, completeness, and each image (uploaded first) with what to show."""
    with engine.connect() as connection:
        row = (
            connection.execute(
                text(
                    "SELECT id, sku, name, brand, status, completeness, missing_fields, images, uploaded_images "
                    "FROM products WHERE id = :id"
                ),
                {"id": product_id},
            )
            .mappings()
            .first()
        )
    if row is None:
        return None
    pictures = []
    for image in row["uploaded_images"]:
        thumbnail = (image.get("thumbnails") or {}).get(str(SEARCH_THUMBNAIL))
        pictures.append(
            {
                "url": media_url(str(thumbnail or image["key"])),
                "original": media_url(str(image["key"])),
                "caption": f"{image['width']}x{image['height']} px" + ("" if thumbnail else " (thumbnail pending)"),
            }
        )
    pictures += [{"url": url, "original": url, "caption": "external URL"} for url in row["images"]]
    return {
        **{key: row[key] for key in ("id", "sku", "name", "brand", "status", "completeness")},
        "missing_fields": list(row["missing_fields"]),
        "pictures": pictures,
    }
