"""Webhook endpoints, their deliveries and stock.low thresholds: reads and writes for the admin routes."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from api.webhooks.schemas import (
    DeliveryRead,
    ThresholdRead,
    ThresholdSet,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from catalog.errors import InvalidInput, NotFound
from db import webhooks as db
from db.changes import Cursor

BEFORE_ALL = 2**63 - 1


async def _rows(session: AsyncSession, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    conn = await session.connection()
    result = await conn.exec_driver_sql(sql, params or {})
    return list(result.all()) if result.returns_rows else []


def _read(row: Any) -> WebhookRead:
    endpoint_id, url, events, description, active, created_at, updated_at = row
    return WebhookRead(
        id=endpoint_id,
        url=url,
        events=list(events),
        description=description,
        active=active,
        created_at=created_at,
        updated_at=updated_at,
    )


def webhook_not_found(webhook_id: int) -> NotFound:
    return NotFound(f"Webhook {webhook_id} does not exist.", {"webhook_id": webhook_id}, code="WEBHOOK_NOT_FOUND")


async def create(session: AsyncSession, data: WebhookCreate, actor: uuid.UUID) -> WebhookCreated:
    secret = data.secret or f"whsec_{secrets.token_urlsafe(32)}"
    rows = await _rows(
        session,
        db.CREATE_ENDPOINT_SQL,
        {
            "url": data.url,
            "events": list(dict.fromkeys(data.events)),
            "secret": secret,
            "description": data.description,
            "active": data.active,
            "actor": actor,
        },
    )
    return WebhookCreated(webhook=_read(rows[0]), secret=secret)


async def list_all(session: AsyncSession) -> list[WebhookRead]:
    return [_read(row) for row in await _rows(session, db.LIST_ENDPOINTS_SQL)]


async def get(session: AsyncSession, webhook_id: int) -> WebhookRead:
    rows = await _rows(session, db.GET_ENDPOINT_SQL, {"id": webhook_id})
    if not rows:
        raise webhook_not_found(webhook_id)
    return _read(rows[0])


async def update(session: AsyncSession, webhook_id: int, data: WebhookUpdate) -> WebhookRead:
    changes = {name: value for name, value in msgspec.structs.asdict(data).items() if value is not msgspec.UNSET}
    if not changes:
        return await get(session, webhook_id)
    if "events" in changes:
        changes["events"] = list(dict.fromkeys(changes["events"]))
    rows = await _rows(session, db.update_endpoint_sql(sorted(changes)), {**changes, "id": webhook_id})
    if not rows:
        raise webhook_not_found(webhook_id)
    return _read(rows[0])


async def delete(session: AsyncSession, webhook_id: int) -> None:
    if not await _rows(session, db.DELETE_ENDPOINT_SQL, {"id": webhook_id}):
        raise webhook_not_found(webhook_id)


async def deliveries(
    session: AsyncSession, webhook_id: int, status: str | None, before: int | None, limit: int
) -> list[DeliveryRead]:
    await get(session, webhook_id)
    rows = await _rows(
        session,
        db.LIST_DELIVERIES_SQL,
        {
            "id": webhook_id,
            "status": status,
            "before": before or BEFORE_ALL,
            "limit": limit,
        },
    )
    return [
        DeliveryRead(
            id=row[0],
            event=row[1],
            status=row[2],
            attempts=row[3],
            last_status=row[4],
            last_error=row[5],
            next_attempt_at=row[6] if row[2] == "pending" else None,
            created_at=row[7],
            finished_at=row[8],
            product_id=row[9],
            change_cursor=Cursor(row[10], row[11]).encode(),
        )
        for row in rows
    ]


def _threshold(row: Any) -> ThresholdRead:
    return ThresholdRead(id=row[0], product_id=row[1], category_id=row[2], threshold=row[3])


async def list_thresholds(session: AsyncSession) -> list[ThresholdRead]:
    return [_threshold(row) for row in await _rows(session, db.LIST_THRESHOLDS_SQL)]


async def set_threshold(session: AsyncSession, data: ThresholdSet) -> ThresholdRead:
    if (data.product_id is None) == (data.category_id is None):
        raise InvalidInput(
            "Name exactly one of product_id or category_id.",
            {"fields": {"product_id": "exactly one of the two", "category_id": "exactly one of the two"}},
        )
    table, target = ("products", data.product_id) if data.product_id is not None else ("categories", data.category_id)
    if not (await _rows(session, f"SELECT EXISTS (SELECT 1 FROM {table} WHERE id = %(id)s)", {"id": target}))[0][0]:
        field = "product_id" if table == "products" else "category_id"
        code = "PRODUCT_NOT_FOUND" if table == "products" else "CATEGORY_NOT_FOUND"
        raise InvalidInput(
            f"No {table[:-1] if table == 'products' else 'category'} {target}.",
            {"fields": {field: f"no {field.removesuffix('_id')} {target}"}},
            code=code,
        )
    sql = db.UPSERT_PRODUCT_THRESHOLD_SQL if table == "products" else db.UPSERT_CATEGORY_THRESHOLD_SQL
    rows = await _rows(session, sql, {"target": target, "threshold": data.threshold})
    return _threshold(rows[0])


async def delete_threshold(session: AsyncSession, threshold_id: int) -> None:
    if not await _rows(session, db.DELETE_THRESHOLD_SQL, {"id": threshold_id}):
        raise NotFound(
            f"Threshold {threshold_id} does not exist.", {"threshold_id": threshold_id}, code="THRESHOLD_NOT_FOUND"
        )
