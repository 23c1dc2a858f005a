"""Response schemas of the change feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct


class ChangeRead(Struct):
    """One committed change. `entity` is product, stock or price (group once product groups exist);
    `version` is the product's version after the change; `fields` the fields (or stock figures) that changed."""

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
