"""Which webhook events a committed change is, and the JSON each delivery carries."""

from __future__ import annotations

from typing import Any

from db.changes import Change

PRODUCT_EVENTS = {"create": "product.created", "update": "product.updated", "delete": "product.deleted"}


def events_of(change: Change, threshold: int) -> list[str]:
    """product.* for product rows, price.changed for price rows; for stock, the crossing it made: out (to 0),
    back_in (from 0), low (down to `threshold` or below, from above it)."""
    if change.entity == "product":
        return [PRODUCT_EVENTS[change.action]]
    if change.entity == "price":
        return ["price.changed"]
    if change.entity == "stock":
        before, after = int(change.data["available_before"]), int(change.data["available"])
        if after <= 0 < before:
            return ["stock.out"]
        if before <= 0 < after:
            return ["stock.back_in"]
        if 0 < after <= threshold < before:
            return ["stock.low"]
    return []


def payload(change: Change, event: str, threshold: int | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "product_id": change.product_id,
        "entity": change.entity,
        "action": change.action,
        "version": change.version,
        "fields": change.fields,
        **change.data,
    }
    if event == "stock.low":
        data["threshold"] = threshold
    return {
        "id": f"evt_{change.cursor.change_id}_{event.replace('.', '_')}",
        "type": event,
        "created_at": change.committed_at.isoformat(),
        "cursor": change.cursor.encode(),
        "data": data,
    }
