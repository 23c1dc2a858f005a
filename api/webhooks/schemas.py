"""Request and response schemas of webhooks, their deliveries and stock.low thresholds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

EventName = Literal[
    "product.created",
    "product.updated",
    "product.deleted",
    "stock.low",
    "stock.out",
    "stock.back_in",
    "price.changed",
]
Url = Annotated[str, Meta(pattern=r"^https?://[^\s/?#]+[^\s]*$", max_length=2000)]
Events = Annotated[list[EventName], Meta(min_length=1, max_length=7)]
Secret = Annotated[str, Meta(min_length=16, max_length=256)]
Description = Annotated[str, Meta(max_length=500)]


class WebhookCreate(Struct, forbid_unknown_fields=True):
    """`secret` signs every delivery (HMAC-SHA256); leave it out to have one generated (shown once, in the 201)."""

    url: Url
    events: Events
    secret: Secret | None = None
    description: Description = ""
    active: bool = True


class WebhookUpdate(Struct, forbid_unknown_fields=True, omit_defaults=True):
    url: Url | UnsetType = UNSET
    events: Events | UnsetType = UNSET
    secret: Secret | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class WebhookRead(Struct):
    """The secret is never shown again after creation."""

    id: int
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime


class WebhookCreated(Struct):
    webhook: WebhookRead
    secret: str
    """Keep it: receivers verify `X-Catalog-Signature` with it, and it is not shown again."""


class DeliveryRead(Struct):
    id: int
    event: str
    status: str  # pending | delivered | failed
    attempts: int
    last_status: int | None
    """The receiver's last HTTP status (null: no response, e.g. connection refused or timed out)."""
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None
    product_id: int | None
    change_cursor: str


class ThresholdSet(Struct, forbid_unknown_fields=True):
    """stock.low fires when available stock falls to `threshold` or below; set it for a product or a category
    (products of sub-categories inherit the nearest one)."""

    threshold: Annotated[int, Meta(ge=0, le=1_000_000_000)]
    product_id: Annotated[int, Meta(ge=1)] | None = None
    category_id: Annotated[int, Meta(ge=1)] | None = None


class ThresholdRead(Struct):
    id: int
    product_id: int | None
    category_id: int | None
    threshold: int
