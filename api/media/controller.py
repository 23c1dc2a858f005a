"""HTTP routes for product images (staff, JWT) and `GET /media/{key}` (public, immutable, streamed from the store)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Litestar, Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.openapi import ResponseSpec
from litestar.params import Body
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT, HTTP_304_NOT_MODIFIED
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import CATALOG_READERS, CATALOG_WRITERS, requires
from api.auth.security import Principal
from api.media import service
from api.media.schemas import ImagePatch, ImageRead, ImageUpload, UploadRead
from api.openapi import error_responses
from catalog.errors import NotFound
from catalog.field_types import ErrorBody
from catalog.settings import Settings
from db.media import SERVED_KEY
from media.store import IMMUTABLE, MediaStore

SMALL_OBJECT = 256 * 1024
"""Objects up to this size (thumbnails) are read in one call; larger ones are streamed in chunks."""
CHUNK = 64 * 1024


@asynccontextmanager
async def media_lifespan(app: Litestar) -> AsyncIterator[None]:
    """One S3 client per API process (boto3 clients are thread-safe and pool their connections)."""
    app.state.media_store = MediaStore(app.state.settings)
    yield


def provide_store(state: State) -> MediaStore:
    store: MediaStore = state.media_store
    return store


STORE = {"store": Provide(provide_store, sync_to_thread=False)}


def _responses(*statuses: int) -> dict[int, ResponseSpec]:
    specs = error_responses(*(s for s in statuses if s != 415))
    if 415 in statuses:
        specs[415] = ResponseSpec(data_container=ErrorBody, description="Not a JPEG, PNG, WebP or GIF by its bytes.")
    return specs


def _image_response(image: ImageRead, created: bool) -> Response[ImageRead]:
    return Response(image, status_code=HTTP_201_CREATED if created else HTTP_200_OK)


class ProductImageController(Controller):
    path = "/products/{product_id:int}/images"
    tags = ["media"]
    guards = [requires(CATALOG_READERS)]
    dependencies = STORE

    @post(
        "/",
        summary="Upload an image (multipart/form-data, field `file`)",
        guards=[requires(CATALOG_WRITERS)],
        responses=_responses(400, 401, 403, 404, 413, 415, 503),
        status_code=HTTP_201_CREATED,
    )
    async def upload(
        self,
        product_id: int,
        data: Annotated[ImageUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        sessions: async_sessionmaker[AsyncSession],
        store: MediaStore,
        settings: Settings,
        principal: Principal,
    ) -> Response[ImageRead]:
        """201 with the new image, or 200 with the existing one when the product already has these bytes.
        Thumbnails start `pending`; the worker makes them within seconds."""
        content = await data.file.read()
        image, created = await service.upload(sessions, store, settings, principal.user_id, product_id, content)
        return _image_response(image, created)

    @get("/", summary="List a product's uploaded images", responses=_responses(401, 403, 404))
    async def list_images(self, product_id: int, sessions: async_sessionmaker[AsyncSession]) -> list[ImageRead]:
        """In position order, with each thumbnail's status."""
        return await service.list_images(sessions, product_id)

    @patch(
        "/{image_id:int}",
        summary="Move an image or change its alt text",
        guards=[requires(CATALOG_WRITERS)],
        responses=_responses(400, 401, 403, 404),
    )
    async def update_image(
        self,
        product_id: int,
        image_id: int,
        data: ImagePatch,
        sessions: async_sessionmaker[AsyncSession],
        principal: Principal,
    ) -> ImageRead:
        """`position` moves the image (the others shift, positions stay 0..n-1)."""
        return await service.update(sessions, principal.user_id, product_id, image_id, data)

    @delete(
        "/{image_id:int}",
        summary="Delete an image and its objects",
        guards=[requires(CATALOG_WRITERS)],
        responses=_responses(204, 401, 403, 404),
        status_code=HTTP_204_NO_CONTENT,
    )
    async def delete_image(
        self,
        product_id: int,
        image_id: int,
        sessions: async_sessionmaker[AsyncSession],
        store: MediaStore,
        principal: Principal,
    ) -> None:
        await service.delete(sessions, store, principal.user_id, product_id, image_id)

    @post(
        "/uploads",
        summary="Start a large upload: a presigned PUT URL",
        guards=[requires(CATALOG_WRITERS)],
        responses=_responses(401, 403, 404, 503),
        status_code=HTTP_201_CREATED,
    )
    async def start_upload(
        self,
        product_id: int,
        sessions: async_sessionmaker[AsyncSession],
        store: MediaStore,
        settings: Settings,
        principal: Principal,
    ) -> UploadRead:
        """PUT the bytes to `url` straight to the object store, then POST `complete_url`."""
        return await service.start_upload(sessions, store, settings, principal.user_id, product_id)

    @post(
        "/uploads/{upload_id:uuid}/complete",
        summary="Check a presigned upload and register its image",
        guards=[requires(CATALOG_WRITERS)],
        responses=_responses(400, 401, 403, 404, 413, 415, 503),
        status_code=HTTP_201_CREATED,
    )
    async def complete_upload(
        self,
        product_id: int,
        upload_id: uuid.UUID,
        sessions: async_sessionmaker[AsyncSession],
        store: MediaStore,
        settings: Settings,
        principal: Principal,
    ) -> Response[ImageRead]:
        """201 with the new image; 200 when the product already had these bytes or the upload was completed."""
        image, created = await service.complete_upload(
            sessions, store, settings, principal.user_id, product_id, upload_id
        )
        return _image_response(image, created)


def _etag(key: str) -> str | None:
    """Content-addressed keys carry their digest (and thumbnail size): that is the entity tag."""
    match = SERVED_KEY.match(key)
    if match is None:
        return None
    return f'"{match.group(2)}-{match.group(3)}"' if match.group(3) else f'"{match.group(2)}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def media_not_found(key: str) -> NotFound:
    return NotFound(f"No media at {key!r}.", {"key": key}, code="MEDIA_NOT_FOUND")


@get(
    "/media/{key:path}",
    summary="An uploaded image or thumbnail (public; immutable, content-addressed)",
    tags=["media"],
    dependencies=STORE,
    security=[],
    responses={
        304: ResponseSpec(data_container=None, description="Not modified (If-None-Match)."),
        **_responses(404, 503),
    },
)
async def serve_media(key: str, request: Request[Any, Any, Any], store: MediaStore) -> Response[Any]:
    """`ETag` is the content digest, so `If-None-Match` is answered 304 without asking the store."""
    key = key.lstrip("/")
    etag = _etag(key)
    if etag is None:
        raise media_not_found(key)
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(None, status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    opened = await service.in_thread(store.open, key)
    if opened is None:
        raise media_not_found(key)
    body, info = opened
    headers["Content-Length"] = str(info.size)
    media_type = info.content_type or "application/octet-stream"
    if info.size <= SMALL_OBJECT:
        content = await service.in_thread(store.drain, body)
        return Response(content, headers=headers, media_type=media_type)

    async def chunks() -> AsyncIterator[bytes]:
        iterator = body.iter_chunks(CHUNK)
        try:
            while chunk := await anyio.to_thread.run_sync(next, iterator, b""):
                yield chunk
        finally:
            body.close()

    return Stream(chunks(), headers=headers, media_type=media_type)
