"""Reading the change log in commit order, with long-polling and the retention horizon."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from litestar.status_codes import HTTP_410_GONE
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.changes.schemas import ChangePage, ChangeRead
from catalog.errors import CatalogError, InvalidInput
from db import changes as db

POLL_SECONDS = 0.2


class CursorExpired(CatalogError, status=HTTP_410_GONE, code="CURSOR_EXPIRED"): ...


def parse_cursor(after: str | None) -> db.Cursor | None:
    """None for `latest` (start from now on), START when absent."""
    if after is None or after == "":
        return db.START
    if after == "latest":
        return None
    try:
        return db.Cursor.parse(after)
    except ValueError as exc:
        raise InvalidInput(str(exc), {"fields": {"after": after}}, code="INVALID_CURSOR") from None


async def _scalar(session: AsyncSession, sql: str, params: dict[str, Any] | None = None) -> Any:
    conn = await session.connection()
    return (await conn.exec_driver_sql(sql, params or {})).scalar_one()


async def _horizon(session: AsyncSession) -> db.Cursor:
    conn = await session.connection()
    row: Any = (await conn.exec_driver_sql(db.HORIZON_SQL)).one()
    return db.Cursor(int(row[0]), int(row[1]))


async def _latest(session: AsyncSession) -> db.Cursor:
    watermark = int(await _scalar(session, db.WATERMARK_SQL))
    last = int(await _scalar(session, db.LAST_OF_COMMIT_SQL, {"seq": watermark}))
    return db.Cursor(watermark, last)


async def _read(session: AsyncSession, after: db.Cursor, limit: int) -> list[db.Change]:
    watermark = int(await _scalar(session, db.WATERMARK_SQL))  # its own statement, before the read
    conn = await session.connection()
    rows = (await conn.exec_driver_sql(db.READ_SQL, db.read_params(after, watermark, limit + 1))).all()
    horizon = await _horizon(session)  # checked after the read: a prune that raced it is caught here
    if after < horizon:
        raise CursorExpired(
            "The cursor is older than the change feed's retention window; restart from the oldest cursor "
            "(and resynchronise with GET /products?updated_since=).",
            {"oldest_cursor": horizon.encode(), "cursor": after.encode()},
        )
    return [db.change_from_row(row) for row in rows]


def _read_model(change: db.Change) -> ChangeRead:
    return ChangeRead(
        cursor=change.cursor.encode(),
        entity=change.entity,
        entity_id=change.entity_id,
        product_id=change.product_id,
        action=change.action,
        version=change.version,
        fields=change.fields,
        data=change.data,
        committed_at=change.committed_at,
    )


async def changes_after(
    sessions: async_sessionmaker[AsyncSession], after: str | None, limit: int, wait: float
) -> ChangePage:
    """Up to `limit` changes after the cursor; with `wait`, hold the request until one commits (or time runs out)."""
    cursor = parse_cursor(after)
    deadline = time.monotonic() + wait
    while True:
        async with sessions() as session:
            if cursor is None:
                cursor = await _latest(session)
            found = await _read(session, cursor, limit)
        if found or time.monotonic() >= deadline:
            break
        await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    page = found[:limit]
    next_cursor = page[-1].cursor if page else cursor
    return ChangePage(
        changes=[_read_model(c) for c in page], next_cursor=next_cursor.encode(), has_more=len(found) > limit
    )
