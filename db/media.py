"""Product media rows: uploaded images, their thumbnails and presigned uploads; object keys and public URLs.

The API writes the object first and the row second (see `api/media/service.py`); the triggers of migration 0006
keep `products.uploaded_images` in step, which is what product reads, quality and the search document use.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from catalog.settings import get_settings
from db import quality
from db.media_quality import UPLOADED_IMAGES

THUMBNAIL_SIZES = (200, 600)
"""Long side in px of the WebP thumbnails the worker makes of every uploaded image."""
SEARCH_THUMBNAIL = 200
"""The thumbnail the search document shows as the product's `image`."""

# Content-addressed keys: the same key always names the same bytes, so they are served as immutable.
SERVED_KEY = re.compile(r"^products/(\d+)/([0-9a-f]{64})(?:-(\d+))?\.(jpg|png|webp|gif)$")


def image_key(product_id: int, sha256: str, extension: str) -> str:
    return f"products/{product_id}/{sha256}.{extension}"


def thumbnail_key(product_id: int, sha256: str, size: int) -> str:
    return f"products/{product_id}/{sha256}-{size}.webp"


def upload_key(upload_id: uuid.UUID) -> str:
    """Where a presigned upload lands before it is checked (never served)."""
    return f"uploads/{upload_id}"


def media_url(key: str) -> str:
    return f"{get_settings().media_url_prefix}/{key}"


def uploaded_urls(uploaded_images: list[dict[str, Any]]) -> list[str]:
    return [media_url(str(image["key"])) for image in uploaded_images if isinstance(image, dict) and "key" in image]


def product_images(uploaded_images: list[dict[str, Any]], external: list[str]) -> list[str]:
    """A product's `images`: its uploads in position order, then the external URLs."""
    return [*uploaded_urls(uploaded_images), *external]


def search_images(uploaded_images: list[dict[str, Any]], external: list[str]) -> list[str]:
    """The search document's `images` (shown in result lists; a hit's `image` is the first): each upload as its
    200 px thumbnail once that is ready (the original until then), in position order, then the external URLs."""
    shown = []
    for image in uploaded_images:
        if not isinstance(image, dict) or "key" not in image:
            continue
        thumbnail = (image.get("thumbnails") or {}).get(str(SEARCH_THUMBNAIL))
        shown.append(media_url(str(thumbnail or image["key"])))
    return [*shown, *external]


# --- tables: only uploads have a model; product_images and image_thumbnails are read and written in SQL ------


class MediaUpload(SQLModel, table=True):
    __tablename__ = "media_uploads"

    id: uuid.UUID = Field(sa_column=Column(UUID(as_uuid=True), primary_key=True))
    product_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    key: str = Field(sa_type=Text)
    created_by: uuid.UUID | None = Field(default=None, sa_column=Column(UUID(as_uuid=True), nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    completed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    image_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


# --- reads and writes for the API (async) --------------------------------------------------------------------


@dataclass(frozen=True)
class Thumbnail:
    size: int
    key: str
    status: str


@dataclass(frozen=True)
class ImageRow:
    id: int
    product_id: int
    key: str
    sha256: str
    content_type: str
    width: int
    height: int
    bytes: int
    position: int
    alt: str
    created_at: datetime
    thumbnails: list[Thumbnail] = field(default_factory=list)


@dataclass(frozen=True)
class NewImage:
    """An image whose object is already in the store, about to get its row."""

    product_id: int
    key: str
    sha256: str
    content_type: str
    width: int
    height: int
    bytes: int
    alt: str = ""


_IMAGES_SQL = """
SELECT i.id, i.product_id, i.key, i.sha256, i.content_type, i.width, i.height, i.bytes, i.position, i.alt,
       i.created_at,
       coalesce((SELECT jsonb_agg(jsonb_build_array(t.size, t.key, t.status) ORDER BY t.size)
                 FROM image_thumbnails t WHERE t.image_id = i.id), '[]') AS thumbnails
FROM product_images i
"""


def _image(row: Any) -> ImageRow:
    values = dict(row._mapping)
    thumbnails = [Thumbnail(int(size), str(key), str(status)) for size, key, status in values.pop("thumbnails")]
    return ImageRow(**values, thumbnails=thumbnails)


async def product_exists(session: AsyncSession, product_id: int, *, lock: bool = False) -> bool:
    """Is there such a product? With `lock`, holds its row until the transaction ends, so writers of one
    product's images take turns (the triggers rebuild `uploaded_images` from what the previous one committed)."""
    sql = "SELECT 1 FROM products WHERE id = :id" + (" FOR UPDATE" if lock else "")
    return (await session.execute(text(sql), {"id": product_id})).first() is not None


async def list_images(session: AsyncSession, product_id: int) -> list[ImageRow]:
    rows = await session.execute(
        text(_IMAGES_SQL + "WHERE i.product_id = :product ORDER BY i.position, i.id"), {"product": product_id}
    )
    return [_image(row) for row in rows]


async def get_image(session: AsyncSession, product_id: int, image_id: int) -> ImageRow | None:
    row = (
        await session.execute(
            text(_IMAGES_SQL + "WHERE i.product_id = :product AND i.id = :id"), {"product": product_id, "id": image_id}
        )
    ).first()
    return _image(row) if row else None


async def find_by_sha256(session: AsyncSession, product_id: int, sha256: str) -> ImageRow | None:
    row = (
        await session.execute(
            text(_IMAGES_SQL + "WHERE i.product_id = :product AND i.sha256 = :sha"),
            {"product": product_id, "sha": sha256},
        )
    ).first()
    return _image(row) if row else None


async def insert_image(session: AsyncSession, image: NewImage) -> int:
    """The image's row (last in position) and one pending row per thumbnail size, which wakes the worker."""
    image_id = (
        await session.execute(
            text("""
                INSERT INTO product_images (product_id, key, sha256, content_type, width, height, bytes, alt, position)
                SELECT :product_id, :key, :sha256, :content_type, :width, :height, :bytes, :alt,
                       coalesce(max(position) + 1, 0) FROM product_images WHERE product_id = :product_id
                RETURNING id
            """),
            image.__dict__,
        )
    ).scalar_one()
    await session.execute(
        text("INSERT INTO image_thumbnails (image_id, size, key) VALUES (:image, :size, :key)"),
        [
            {"image": image_id, "size": size, "key": thumbnail_key(image.product_id, image.sha256, size)}
            for size in THUMBNAIL_SIZES
        ],
    )
    return int(image_id)


async def move_image(session: AsyncSession, product_id: int, image_id: int, position: int) -> None:
    """Put the image at `position` (0 = first; past the end = last) and renumber the others densely."""
    ids = list(
        (
            await session.execute(
                text("SELECT id FROM product_images WHERE product_id = :p ORDER BY position, id"), {"p": product_id}
            )
        ).scalars()
    )
    ids.remove(image_id)
    ids.insert(min(position, len(ids)), image_id)
    await session.execute(
        text("UPDATE product_images SET position = :pos, updated_at = now() WHERE id = :id AND position <> :pos"),
        [{"id": value, "pos": index} for index, value in enumerate(ids)],
    )


async def set_alt(session: AsyncSession, image_id: int, alt: str) -> None:
    await session.execute(
        text("UPDATE product_images SET alt = :alt, updated_at = now() WHERE id = :id AND alt <> :alt"),
        {"id": image_id, "alt": alt},
    )


async def delete_image(session: AsyncSession, image: ImageRow) -> None:
    """Drop the row (its thumbnails go with it) and close the gap in the positions."""
    await session.execute(text("DELETE FROM product_images WHERE id = :id"), {"id": image.id})
    await session.execute(
        text("UPDATE product_images SET position = position - 1 WHERE product_id = :p AND position > :pos"),
        {"p": image.product_id, "pos": image.position},
    )


async def rescore(session: AsyncSession, product_id: int) -> None:
    """Re-score the product now that its uploads changed (only the rule on uploaded images reads them)."""
    has_rule = await session.execute(
        text("SELECT EXISTS (SELECT 1 FROM quality_rules WHERE field = :f)"), {"f": UPLOADED_IMAGES}
    )
    if not has_rule.scalar_one():
        return
    row = (await session.execute(text("SELECT * FROM products WHERE id = :id"), {"id": product_id})).first()
    if row is None:
        return
    rules = await session.run_sync(quality.load_rules)
    result = quality.evaluate(row._mapping, rules)
    if result.completeness != row.completeness or result.missing_fields != list(row.missing_fields):
        await session.execute(
            text("UPDATE products SET completeness = :c, missing_fields = :m WHERE id = :id"),
            {"c": result.completeness, "m": result.missing_fields, "id": product_id},
        )


# --- presigned uploads ---------------------------------------------------------------------------------------


async def create_upload(
    session: AsyncSession, product_id: int, actor: uuid.UUID | None, ttl_seconds: int
) -> MediaUpload:
    upload_id = uuid.uuid4()
    row = (
        await session.execute(
            text("""
                INSERT INTO media_uploads (id, product_id, key, created_by, expires_at)
                VALUES (:id, :product, :key, :actor, now() + make_interval(secs => :ttl))
                RETURNING id, product_id, key, created_by, created_at, expires_at, completed_at, image_id
            """),
            {"id": upload_id, "product": product_id, "key": upload_key(upload_id), "actor": actor, "ttl": ttl_seconds},
        )
    ).one()
    return MediaUpload(**row._mapping)


async def lock_upload(session: AsyncSession, product_id: int, upload_id: uuid.UUID) -> MediaUpload | None:
    """The product's upload, locked so two `complete` calls for it take turns."""
    row = (
        await session.execute(
            text("""
                SELECT id, product_id, key, created_by, created_at, expires_at, completed_at, image_id,
                       expires_at < now() AS expired
                FROM media_uploads WHERE id = :id AND product_id = :product FOR UPDATE
            """),
            {"id": upload_id, "product": product_id},
        )
    ).first()
    if row is None:
        return None
    values = dict(row._mapping)
    expired = values.pop("expired")
    upload = MediaUpload(**values)
    return None if expired and upload.completed_at is None else upload


async def complete_upload(session: AsyncSession, upload_id: uuid.UUID, image_id: int) -> None:
    await session.execute(
        text("UPDATE media_uploads SET completed_at = now(), image_id = :image WHERE id = :id"),
        {"id": upload_id, "image": image_id},
    )
