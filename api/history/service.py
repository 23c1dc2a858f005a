"""Reading a product's audit trail and price history (also for a deleted product, whose history stays)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.history.schemas import Actor, FieldChange, HistoryEntry, HistoryPage, PriceHistory, PriceInterval
from api.products.service import product_not_found
from catalog.errors import NotFound
from db import history as db

BEFORE_ALL = 2**63 - 1


async def _rows(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[Any]:
    conn = await session.connection()
    return list((await conn.exec_driver_sql(sql, params)).all())


def _actor(actor_id: Any, email: str | None) -> Actor | None:
    return Actor(id=actor_id, email=email) if actor_id is not None else None


def _entry(row: Any) -> HistoryEntry:
    entry_id, at, entity, entity_id, action, changes, actor_id, email = row
    changes = dict(changes)
    reason = changes.pop("reason", None)
    fields = [
        FieldChange(field=name, old=value[0], new=value[1])
        for name, value in sorted(changes.items())
        if isinstance(value, list) and len(value) == 2
    ]
    _, _, sub_id = str(entity_id).partition(":")
    return HistoryEntry(
        id=entry_id,
        at=at,
        entity=entity,
        action=action,
        actor=_actor(actor_id, email),
        changes=fields,
        reason=reason if isinstance(reason, str) else None,
        warehouse_id=int(sub_id) if entity == "stock" and sub_id.isdigit() else None,
        image_id=int(sub_id) if entity == "image" and sub_id.isdigit() else None,
    )


async def product_history(session: AsyncSession, product_id: int, before: int | None, limit: int) -> HistoryPage:
    rows = await _rows(session, db.HISTORY_SQL, db.history_params(product_id, before or BEFORE_ALL, limit + 1))
    if not rows and before is None:
        exists = await _rows(session, db.PRODUCT_EXISTS_SQL, {"id": product_id})
        if not exists[0][0]:
            raise product_not_found(product_id)
    page = [_entry(row) for row in rows[:limit]]
    next_cursor = page[-1].id if len(rows) > limit else None
    return HistoryPage(product_id=product_id, entries=page, next_cursor=next_cursor)


async def price_history(session: AsyncSession, product_id: int, at: datetime | None) -> PriceHistory:
    rows = await _rows(session, db.PRICES_SQL, {"id": product_id})
    if not rows:
        raise product_not_found(product_id)
    intervals = [
        PriceInterval(
            price=float(price),
            currency=str(currency).strip(),
            valid_from=valid_from,
            valid_to=valid_to,
            changed_by=_actor(actor_id, email),
        )
        for _, price, currency, valid_from, valid_to, actor_id, email, _ in rows
    ]
    if at is not None:
        at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        intervals = [i for i in intervals if i.valid_from <= at and (i.valid_to is None or at < i.valid_to)]
        if not intervals:
            raise NotFound(
                f"Product {product_id} had no price at {at.isoformat()} (it did not exist yet).",
                {"product_id": product_id, "at": at.isoformat(), "first_price_at": rows[-1][3].isoformat()},
                code="PRICE_NOT_FOUND",
            )
    return PriceHistory(product_id=product_id, sku=rows[0][7], at=at, intervals=intervals)
