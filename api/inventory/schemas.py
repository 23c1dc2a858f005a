"""Request and response schemas for warehouses and stock."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

WarehouseCode = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9_-]*$",
                                    description="Uppercase letters, digits, '-' and '_', e.g. EU-WEST-1")]
WarehouseName = Annotated[str, Meta(min_length=1, max_length=200)]
Quantity = Annotated[int, Meta(ge=0, le=1_000_000_000)]
Delta = Annotated[int, Meta(ge=-1_000_000_000, le=1_000_000_000)]
Reason = Annotated[str, Meta(max_length=500)]


class WarehouseCreate(Struct, forbid_unknown_fields=True):
    code: WarehouseCode
    name: WarehouseName


class WarehouseRead(Struct):
    id: int
    code: str
    name: str
    created_at: datetime


class StockRow(Struct):
    warehouse_id: int
    warehouse_code: str
    on_hand: int
    reserved: int
    available: int


class StockTotals(Struct):
    on_hand: int
    reserved: int
    available: int


class StockRead(Struct):
    product_id: int
    warehouses: list[StockRow]
    totals: StockTotals


class StockSet(Struct, forbid_unknown_fields=True):
    """Absolute quantities for one warehouse; `reserved` may not exceed `on_hand`."""

    warehouse_id: int
    on_hand: Quantity
    reserved: Quantity


class StockAdjustment(Struct, forbid_unknown_fields=True):
    """Relative change for one warehouse, e.g. a sale `{"on_hand_delta": -1}` or a reservation
    `{"reserved_delta": 2}`; refused when available stock would drop below zero."""

    warehouse_id: int
    on_hand_delta: Delta = 0
    reserved_delta: Delta = 0
    reason: Reason | None = None
