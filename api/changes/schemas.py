"""Response schemas of the change feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct


class ChangeRead(Struct):
    """One committed change. `entity` is product, stock, price or group (a product group: `entity_id` is the
    group's id, `product_id` null; its variants' own changes follow as product changes); `version` is the
    product's (or group's) version after the change; `fields` the fields (or stock figures) that changed."""

    cursor: str
    entity: str
    entity_id: str
    product_id: int | None
    action: str
    version: int
    fields: list[str]
    data: dict[str, Any]
    committed_at: datetime


class ChangePage(Struct):
    changes: list[ChangeRead]
    next_cursor: str
    """Pass as `after` to get what comes next (the same cursor when nothing new has committed)."""
    has_more: bool
