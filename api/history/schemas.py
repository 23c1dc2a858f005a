"""Response schemas of product history and price history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from msgspec import Struct


class Actor(Struct):
    id: uuid.UUID
    email: str | None


class FieldChange(Struct):
    field: str
    old: Any
    new: Any


class HistoryEntry(Struct):
    """One audited change. `entity` is product, stock (with `warehouse_id`) or image; `reason` is the reason given
    for a stock adjustment."""

    id: int
    at: datetime
    entity: str
    action: str
    actor: Actor | None
    changes: list[FieldChange]
    reason: str | None = None
    warehouse_id: int | None = None
    image_id: int | None = None


class HistoryPage(Struct):
    product_id: int
    entries: list[HistoryEntry]
    next_cursor: int | None
    """Pass as `before` for older entries; null at the beginning of the product's history."""


class PriceInterval(Struct):
    price: float
    currency: str
    valid_from: datetime
    valid_to: datetime | None
    """Null while the price is current."""
    changed_by: Actor | None


class PriceHistory(Struct):
    product_id: int
    sku: str
    at: datetime | None
    intervals: list[PriceInterval]
    """Newest first; with `at`, only the interval valid then."""
