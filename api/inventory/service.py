"""Warehouses and stock. An adjustment is one conditional UPDATE, so concurrent adjustments can never
drive available stock (on_hand - reserved) below zero; the inventory trigger audits and re-indexes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.inventory.schemas import (
    StockAdjustment,
    StockRead,
    StockRow,
    StockSet,
    StockTotals,
    WarehouseCreate,
    WarehouseRead,
)
from api.products.service import product_not_found
from catalog.errors import Conflict, InvalidInput, NotFound
from db.models import Warehouse

_NUMERIC_OUT_OF_RANGE = "22003"

_STOCK_ROWS = text("""
    SELECT i.warehouse_id, w.code, i.on_hand, i.reserved
    FROM inventory i JOIN warehouses w ON w.id = i.warehouse_id
    WHERE i.product_id = :product_id
    ORDER BY w.code
""")

# The guard is the WHERE clause: the row lock taken by the UPDATE re-checks it against the latest committed
# quantities, so of many concurrent decrements only those that fit succeed.
_ADJUST = text("""
    UPDATE inventory
    SET on_hand = on_hand + :on_hand_delta, reserved = reserved + :reserved_delta, updated_at = now()
    WHERE product_id = :product_id AND warehouse_id = :warehouse_id
      AND on_hand + :on_hand_delta >= 0
      AND reserved + :reserved_delta >= 0
      AND reserved + :reserved_delta <= on_hand + :on_hand_delta
    RETURNING on_hand, reserved
""")

_CREATE_ROW = text("""
    INSERT INTO inventory (product_id, warehouse_id, on_hand, reserved)
    VALUES (:product_id, :warehouse_id, :on_hand_delta, :reserved_delta)
    ON CONFLICT (product_id, warehouse_id) DO NOTHING
    RETURNING on_hand, reserved
""")

_SET = text("""
    INSERT INTO inventory (product_id, warehouse_id, on_hand, reserved)
    VALUES (:product_id, :warehouse_id, :on_hand, :reserved)
    ON CONFLICT (product_id, warehouse_id) DO UPDATE
    SET on_hand = excluded.on_hand, reserved = excluded.reserved, updated_at = now()
""")

# The trigger already audited the quantities; the caller's reason joins that same audit row.
_ATTACH_REASON = text("""
    UPDATE audit_log SET changes = changes || jsonb_build_object('reason', CAST(:reason AS text))
    WHERE id = (SELECT max(id) FROM audit_log WHERE entity = 'stock' AND entity_id = :entity_id)
""")


# --- warehouses ------------------------------------------------------------------------------------------


def _warehouse_read(warehouse: Warehouse) -> WarehouseRead:
    assert warehouse.id is not None
    return WarehouseRead(id=warehouse.id, code=warehouse.code, name=warehouse.name,
                         created_at=warehouse.created_at)


async def list_warehouses(session: AsyncSession) -> list[WarehouseRead]:
    rows = (await session.execute(select(Warehouse).order_by(col(Warehouse.code)))).scalars().all()
    return [_warehouse_read(w) for w in rows]


async def get_warehouse(session: AsyncSession, warehouse_id: int) -> WarehouseRead:
    warehouse = await session.get(Warehouse, warehouse_id)
    if warehouse is None:
        raise NotFound(f"Warehouse {warehouse_id} does not exist.", {"warehouse_id": warehouse_id},
                       code="WAREHOUSE_NOT_FOUND")
    return _warehouse_read(warehouse)


async def create_warehouse(session: AsyncSession, data: WarehouseCreate) -> WarehouseRead:
    warehouse = Warehouse(code=data.code, name=data.name)
    session.add(warehouse)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"A warehouse with code {data.code!r} already exists.",
                       {"fields": {"code": data.code}}, code="WAREHOUSE_ALREADY_EXISTS") from None
    await session.refresh(warehouse)
    return _warehouse_read(warehouse)


# --- stock -------------------------------------------------------------------------------------------------


async def _require_product(session: AsyncSession, product_id: int, *, lock: bool) -> None:
    """With `lock`, the product row is locked first: stock writes then take their locks in the same order
    as a product delete (product, then its inventory rows), so the two never deadlock."""
    sql = "SELECT 1 FROM products WHERE id = :id" + (" FOR NO KEY UPDATE" if lock else "")
    if (await session.execute(text(sql), {"id": product_id})).first() is None:
        raise product_not_found(product_id)


async def _require_warehouse(session: AsyncSession, warehouse_id: int) -> None:
    if await session.get(Warehouse, warehouse_id) is None:
        raise InvalidInput(f"Warehouse {warehouse_id} does not exist.",
                           {"fields": {"warehouse_id": f"no warehouse {warehouse_id}"}},
                           code="WAREHOUSE_NOT_FOUND")


async def _stock_of(session: AsyncSession, product_id: int) -> StockRead:
    result = await session.execute(_STOCK_ROWS, {"product_id": product_id})
    rows = [StockRow(warehouse_id=w, warehouse_code=code, on_hand=on_hand, reserved=reserved,
                     available=on_hand - reserved) for w, code, on_hand, reserved in result]
    on_hand, reserved = sum(r.on_hand for r in rows), sum(r.reserved for r in rows)
    return StockRead(product_id=product_id, warehouses=rows,
                     totals=StockTotals(on_hand=on_hand, reserved=reserved, available=on_hand - reserved))


async def get_stock(session: AsyncSession, product_id: int) -> StockRead:
    await _require_product(session, product_id, lock=False)
    return await _stock_of(session, product_id)


async def set_stock(session: AsyncSession, product_id: int, data: StockSet) -> StockRead:
    if data.reserved > data.on_hand:
        raise InvalidInput("Reserved stock cannot exceed stock on hand.",
                           {"fields": {"reserved": f"{data.reserved} is more than on_hand {data.on_hand}"},
                            "on_hand": data.on_hand, "reserved": data.reserved},
                           code="RESERVED_EXCEEDS_ON_HAND")
    await _require_product(session, product_id, lock=True)
    await _require_warehouse(session, data.warehouse_id)
    await session.execute(_SET, {"product_id": product_id, "warehouse_id": data.warehouse_id,
                                 "on_hand": data.on_hand, "reserved": data.reserved})
    return await _stock_of(session, product_id)


def _refuse_empty(data: StockAdjustment) -> None:
    if data.on_hand_delta == 0 and data.reserved_delta == 0:
        problem = "both deltas are 0"
        raise InvalidInput("The adjustment changes nothing; send a non-zero on_hand_delta or reserved_delta.",
                           {"fields": {"on_hand_delta": problem, "reserved_delta": problem}})


async def _apply_adjustment(session: AsyncSession, params: dict[str, Any]) -> bool:
    """One guarded UPDATE; a missing row is created when the deltas alone make a valid row."""
    try:
        if (await session.execute(_ADJUST, params)).first() is not None:
            return True
        d_on_hand, d_reserved = params["on_hand_delta"], params["reserved_delta"]
        if not 0 <= d_reserved <= d_on_hand:
            return False
        if (await session.execute(_CREATE_ROW, params)).first() is not None:
            return True
        # The row appeared since the UPDATE looked (a concurrent first adjustment): guard against it now.
        return (await session.execute(_ADJUST, params)).first() is not None
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == _NUMERIC_OUT_OF_RANGE:
            raise InvalidInput("The resulting quantity is too large.",
                               {"fields": {"on_hand_delta": "result out of range"}},
                               code="QUANTITY_OUT_OF_RANGE") from None
        raise


async def _refusal(session: AsyncSession, params: dict[str, Any]) -> Conflict:
    row = (await session.execute(
        text("SELECT on_hand, reserved FROM inventory WHERE product_id = :product_id "
             "AND warehouse_id = :warehouse_id"), params)).first()
    on_hand, reserved = (int(row[0]), int(row[1])) if row is not None else (0, 0)
    d_on_hand, d_reserved = params["on_hand_delta"], params["reserved_delta"]
    where = {"warehouse_id": params["warehouse_id"], "on_hand": on_hand, "reserved": reserved}
    if reserved + d_reserved < 0:
        return Conflict(f"Only {reserved} units are reserved; cannot release {-d_reserved}.",
                        {**where, "requested": -d_reserved}, code="INSUFFICIENT_RESERVED")
    available, requested = on_hand - reserved, d_reserved - d_on_hand
    return Conflict(f"Only {available} units are available; the adjustment needs {requested}.",
                    {**where, "available": available, "requested": requested}, code="INSUFFICIENT_STOCK")


async def adjust_stock(session: AsyncSession, product_id: int, data: StockAdjustment) -> StockRead:
    _refuse_empty(data)
    await _require_product(session, product_id, lock=True)
    await _require_warehouse(session, data.warehouse_id)
    params = {"product_id": product_id, "warehouse_id": data.warehouse_id,
              "on_hand_delta": data.on_hand_delta, "reserved_delta": data.reserved_delta}
    if not await _apply_adjustment(session, params):
        raise await _refusal(session, params)
    if data.reason:
        await session.execute(_ATTACH_REASON, {"reason": data.reason,
                                               "entity_id": f"{product_id}:{data.warehouse_id}"})
    return await _stock_of(session, product_id)
