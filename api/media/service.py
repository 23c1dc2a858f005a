"""Uploads and edits of product images. The object is written before its row, so a crash in between leaves at
most an object no row points to (`catalog media gc` removes those), never a row without its object.

The store is blocking (boto3), so every call to it runs in a worker thread.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from litestar.status_codes import (
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.media.schemas import ImagePatch, ImageRead, ThumbnailRead, UploadRead
from catalog.errors import CatalogError, InvalidInput, NotFound
from catalog.settings import Settings
from db import media as rows
from db.session import transaction
from media import images
from media.store import MediaStore, StorageUnavailable

log = logging.getLogger("catalog.media")
T = TypeVar("T")


class UnsupportedMediaType(CatalogError, status=HTTP_415_UNSUPPORTED_MEDIA_TYPE, code="UNSUPPORTED_MEDIA_TYPE"): ...


class ImageTooLarge(CatalogError, status=HTTP_413_REQUEST_ENTITY_TOO_LARGE, code="IMAGE_TOO_LARGE"): ...


class StorageDown(CatalogError, status=HTTP_503_SERVICE_UNAVAILABLE, code="STORAGE_UNAVAILABLE"): ...


async def in_thread(function: Callable[..., T], *args: Any) -> T:
    """Run a blocking store call off the event loop; a store that does not answer is a 503."""
    try:
        return await anyio.to_thread.run_sync(functools.partial(function, *args))
    except StorageUnavailable as exc:
        log.warning("object store unavailable: %s", exc)
        raise StorageDown(
            "The object store is unavailable; nothing was changed. Retry shortly.", headers={"Retry-After": "5"}
        ) from None


def product_not_found(product_id: int) -> NotFound:
    return NotFound(f"Product {product_id} does not exist.", {"product_id": product_id}, code="PRODUCT_NOT_FOUND")


def image_not_found(product_id: int, image_id: int) -> NotFound:
    return NotFound(
        f"Product {product_id} has no image {image_id}.",
        {"product_id": product_id, "image_id": image_id},
        code="IMAGE_NOT_FOUND",
    )


def to_read(image: rows.ImageRow) -> ImageRead:
    return ImageRead(
        id=image.id,
        product_id=image.product_id,
        url=rows.media_url(image.key),
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        bytes=image.bytes,
        sha256=image.sha256,
        position=image.position,
        alt=image.alt,
        created_at=image.created_at,
        thumbnails={str(t.size): ThumbnailRead(url=rows.media_url(t.key), status=t.status) for t in image.thumbnails},
    )


async def inspect(data: bytes, settings: Settings) -> images.ImageInfo:
    """Size, then type by the bytes, then pixel count: 413, 415 and 400 before anything is stored."""
    if len(data) > settings.max_image_bytes:
        raise ImageTooLarge(
            f"The image is {len(data):,} bytes; at most {settings.max_image_bytes:,} are accepted "
            "(CATALOG_MAX_IMAGE_BYTES).",
            {"bytes": len(data), "max_bytes": settings.max_image_bytes},
        )
    if not data:
        raise UnsupportedMediaType("The file is empty.", {"fields": {"file": "empty"}})
    try:
        return await anyio.to_thread.run_sync(images.inspect, data, settings.max_image_pixels)
    except images.NotAnImage as exc:
        raise UnsupportedMediaType(
            "The file is not a JPEG, PNG, WebP or GIF image (judged by its bytes, not its name or type).",
            {"fields": {"file": str(exc)}, "accepted": sorted(ct for ct, _ in images.FORMATS.values())},
        ) from None
    except images.TooManyPixels as exc:
        raise InvalidInput(
            f"The image is too large to decode safely: {exc}.",
            {"fields": {"file": str(exc)}, "max_pixels": settings.max_image_pixels},
            code="IMAGE_TOO_MANY_PIXELS",
        ) from None


async def _register(session: AsyncSession, info: images.ImageInfo, product_id: int, key: str) -> rows.ImageRow:
    """Row + pending thumbnails for an object already in the store; the product must be locked by the caller."""
    image = rows.NewImage(product_id, key, info.sha256, info.content_type, info.width, info.height, info.bytes)
    image_id = await rows.insert_image(session, image)
    await rows.rescore(session, product_id)
    found = await rows.get_image(session, product_id, image_id)
    assert found is not None
    return found


async def upload(
    sessions: async_sessionmaker[AsyncSession],
    store: MediaStore,
    settings: Settings,
    actor: uuid.UUID,
    product_id: int,
    data: bytes,
) -> tuple[ImageRead, bool]:
    """Store an uploaded image; returns it and whether it is new (the same bytes again return the existing one)."""
    async with sessions() as session:
        if not await rows.product_exists(session, product_id):
            raise product_not_found(product_id)
    info = await inspect(data, settings)
    async with sessions() as session:
        existing = await rows.find_by_sha256(session, product_id, info.sha256)
    if existing is not None:
        return to_read(existing), False
    key = rows.image_key(product_id, info.sha256, info.extension)
    await in_thread(store.put, key, data, info.content_type)
    async with transaction(sessions, actor) as session:
        if not await rows.product_exists(session, product_id, lock=True):
            raise product_not_found(product_id)  # deleted meanwhile: the object is gc's
        existing = await rows.find_by_sha256(session, product_id, info.sha256)
        if existing is not None:  # the same bytes, uploaded concurrently
            return to_read(existing), False
        return to_read(await _register(session, info, product_id, key)), True


async def list_images(sessions: async_sessionmaker[AsyncSession], product_id: int) -> list[ImageRead]:
    async with sessions() as session:
        if not await rows.product_exists(session, product_id):
            raise product_not_found(product_id)
        return [to_read(image) for image in await rows.list_images(session, product_id)]


async def update(
    sessions: async_sessionmaker[AsyncSession], actor: uuid.UUID, product_id: int, image_id: int, patch: ImagePatch
) -> ImageRead:
    async with transaction(sessions, actor) as session:
        if not await rows.product_exists(session, product_id, lock=True):
            raise product_not_found(product_id)
        if await rows.get_image(session, product_id, image_id) is None:
            raise image_not_found(product_id, image_id)
        if patch.position is not UNSET:
            await rows.move_image(session, product_id, image_id, patch.position)
        if patch.alt is not UNSET:
            await rows.set_alt(session, image_id, patch.alt)
        found = await rows.get_image(session, product_id, image_id)
        assert found is not None
        return to_read(found)


async def delete(
    sessions: async_sessionmaker[AsyncSession], store: MediaStore, actor: uuid.UUID, product_id: int, image_id: int
) -> None:
    """The row goes first (committed), then its objects; if the store fails then, gc removes them later."""
    async with transaction(sessions, actor) as session:
        if not await rows.product_exists(session, product_id, lock=True):
            raise product_not_found(product_id)
        image = await rows.get_image(session, product_id, image_id)
        if image is None:
            raise image_not_found(product_id, image_id)
        await rows.delete_image(session, image)
        await rows.rescore(session, product_id)
    keys = [image.key, *(t.key for t in image.thumbnails)]
    try:
        await anyio.to_thread.run_sync(store.delete, keys)
    except StorageUnavailable as exc:
        log.warning("image %s deleted; its objects stay until `catalog media gc`: %s", image_id, exc)


# --- presigned uploads ---------------------------------------------------------------------------------------


async def start_upload(
    sessions: async_sessionmaker[AsyncSession], store: MediaStore, settings: Settings, actor: uuid.UUID, product_id: int
) -> UploadRead:
    async with transaction(sessions, actor) as session:
        if not await rows.product_exists(session, product_id):
            raise product_not_found(product_id)
        upload = await rows.create_upload(session, product_id, actor, settings.media_upload_ttl_seconds)
        url = await in_thread(store.presign_put, upload.key, settings.media_upload_ttl_seconds)
    return UploadRead(
        upload_id=upload.id,
        url=url,
        method="PUT",
        expires_at=upload.expires_at,
        max_bytes=settings.max_image_bytes,
        complete_url=f"/products/{product_id}/images/uploads/{upload.id}/complete",
    )


def upload_not_found(product_id: int, upload_id: uuid.UUID) -> NotFound:
    return NotFound(
        f"Product {product_id} has no open upload {upload_id} (unknown or expired).",
        {"product_id": product_id, "upload_id": str(upload_id)},
        code="UPLOAD_NOT_FOUND",
    )


async def _read_staged(store: MediaStore, settings: Settings, key: str) -> bytes:
    """The bytes PUT to the presigned URL, refused (and dropped) when too large."""
    staged = await in_thread(store.head, key)
    if staged is None:
        raise InvalidInput(
            "Nothing was uploaded to the presigned URL yet; PUT the image there first.",
            {"fields": {"upload_id": "no object"}},
            code="UPLOAD_INCOMPLETE",
        )
    if staged.size > settings.max_image_bytes:
        await in_thread(store.delete, [key])
        raise ImageTooLarge(
            f"The uploaded image is {staged.size:,} bytes; at most {settings.max_image_bytes:,} are accepted.",
            {"bytes": staged.size, "max_bytes": settings.max_image_bytes},
        )
    data = await in_thread(store.read, key, settings.max_image_bytes)
    if data is None:
        raise InvalidInput("The uploaded object vanished; upload again.", code="UPLOAD_INCOMPLETE")
    return data


async def complete_upload(
    sessions: async_sessionmaker[AsyncSession],
    store: MediaStore,
    settings: Settings,
    actor: uuid.UUID,
    product_id: int,
    upload_id: uuid.UUID,
) -> tuple[ImageRead, bool]:
    """Check what was PUT to the presigned URL and register it like a direct upload (server-side copy to its
    content-addressed key). Completing twice returns the same image."""
    async with transaction(sessions, actor) as session:
        if not await rows.product_exists(session, product_id, lock=True):
            raise product_not_found(product_id)
        upload = await rows.lock_upload(session, product_id, upload_id)
        if upload is None:
            raise upload_not_found(product_id, upload_id)
        if upload.completed_at is not None:
            done = await rows.get_image(session, product_id, upload.image_id) if upload.image_id else None
            if done is None:
                raise upload_not_found(product_id, upload_id)
            return to_read(done), False
        data = await _read_staged(store, settings, upload.key)
        try:
            info = await inspect(data, settings)
        except CatalogError:
            await in_thread(store.delete, [upload.key])
            raise
        image = await rows.find_by_sha256(session, product_id, info.sha256)
        created = image is None
        if image is None:
            key = rows.image_key(product_id, info.sha256, info.extension)
            await in_thread(store.copy, upload.key, key, info.content_type)
            image = await _register(session, info, product_id, key)
        await rows.complete_upload(session, upload_id, image.id)
    try:
        await anyio.to_thread.run_sync(store.delete, [upload.key])
    except StorageUnavailable as exc:
        log.warning("upload %s registered; its staging object stays until `catalog media gc`: %s", upload_id, exc)
    return to_read(image), created
