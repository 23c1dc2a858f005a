"""Request and response bodies of the media routes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from litestar.datastructures import UploadFile
from msgspec import UNSET, Meta, Struct, UnsetType

Position = Annotated[int, Meta(ge=0, le=100_000, description="0 is first; past the end means last.")]
AltText = Annotated[str, Meta(max_length=500, description="Alternative text for screen readers and search engines.")]


@dataclass
class ImageUpload:
    """multipart/form-data with the image in the field `file` (its name and type are ignored: the bytes decide)."""

    file: UploadFile


class ThumbnailRead(Struct):
    url: str
    status: str
    """`pending` until the worker has made it, then `ready` (or `failed`, with the reason in the worker's log)."""


class ImageRead(Struct):
    id: int
    product_id: int
    url: str
    content_type: str
    width: int
    height: int
    bytes: int
    sha256: str
    position: int
    alt: str
    created_at: datetime
    thumbnails: dict[str, ThumbnailRead]
    """Keyed by the long side in px: "200" and "600" (WebP)."""


class ImagePatch(Struct, forbid_unknown_fields=True):
    position: Position | UnsetType = UNSET
    alt: AltText | UnsetType = UNSET


class UploadRead(Struct):
    """PUT the image's bytes to `url` (no Authorization header), then POST `complete_url`."""

    upload_id: uuid.UUID
    url: str
    method: str
    expires_at: datetime
    max_bytes: int
    complete_url: str
