"""HTTP routes for warehouses and for each product's stock (absolute set and guarded adjustments)."""

from __future__ import annotations

from litestar import Controller, Response, get, post, put
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import CATALOG_READERS, CATALOG_WRITERS, requires
from api.auth.security import Principal
from api.inventory import service
from api.inventory.schemas import StockAdjustment, StockRead, StockSet, WarehouseCreate, WarehouseRead
from api.openapi import error_responses
from api.products.controller import CHANGE_HEADER
from api.products.service import latest_change
from db.session import transaction


class WarehouseController(Controller):
    path = "/warehouses"
    tags = ["inventory"]
    guards = [requires(CATALOG_READERS)]

    @get("/", summary="List warehouses", responses=error_responses(401, 403))
    async def list_warehouses(self, sessions: async_sessionmaker[AsyncSession]) -> list[WarehouseRead]:
        async with sessions() as session:
            return await service.list_warehouses(session)

    @get("/{warehouse_id:int}", summary="Get a warehouse", responses=error_responses(401, 403, 404))
    async def get_warehouse(self, warehouse_id: int, sessions: async_sessionmaker[AsyncSession]
                            ) -> WarehouseRead:
        async with sessions() as session:
            return await service.get_warehouse(session, warehouse_id)

    @post("/", summary="Create a warehouse", guards=[requires(CATALOG_WRITERS)],
          responses=error_responses(400, 401, 403, 409), status_code=HTTP_201_CREATED)
    async def create_warehouse(self, data: WarehouseCreate, sessions: async_sessionmaker[AsyncSession],
                               principal: Principal) -> WarehouseRead:
        async with transaction(sessions, principal.user_id) as session:
            return await service.create_warehouse(session, data)


def _stock_response(stock: StockRead, change: int | None) -> Response[StockRead]:
    headers = {CHANGE_HEADER: str(change)} if change is not None else {}
    return Response(stock, status_code=HTTP_200_OK, headers=headers)


class StockController(Controller):
    path = "/products/{product_id:int}/stock"
    tags = ["inventory"]
    guards = [requires(CATALOG_READERS)]

    @get("/", summary="A product's stock per warehouse, with totals",
         responses=error_responses(401, 403, 404))
    async def get_stock(self, product_id: int, sessions: async_sessionmaker[AsyncSession]) -> StockRead:
        async with sessions() as session:
            return await service.get_stock(session, product_id)

    @put("/", summary="Set a product's stock in one warehouse (absolute quantities)",
         guards=[requires(CATALOG_WRITERS)], responses=error_responses(400, 401, 403, 404))
    async def set_stock(self, product_id: int, data: StockSet, sessions: async_sessionmaker[AsyncSession],
                        principal: Principal) -> Response[StockRead]:
        """`X-Catalog-Change` names the outbox position of this change (search shows it once indexed)."""
        async with transaction(sessions, principal.user_id) as session:
            stock = await service.set_stock(session, product_id, data)
            change = await latest_change(session, product_id)
        return _stock_response(stock, change)

    @post("/adjustments", summary="Adjust stock in one warehouse (+/-); available never drops below zero",
          guards=[requires(CATALOG_WRITERS)], responses=error_responses(400, 401, 403, 404, 409),
          status_code=HTTP_200_OK)
    async def adjust_stock(self, product_id: int, data: StockAdjustment,
                           sessions: async_sessionmaker[AsyncSession], principal: Principal
                           ) -> Response[StockRead]:
        """Applied atomically: under any concurrency, an adjustment that would leave available stock
        (on_hand - reserved) below zero is refused with 409 INSUFFICIENT_STOCK and changes nothing."""
        async with transaction(sessions, principal.user_id) as session:
            stock = await service.adjust_stock(session, product_id, data)
            change = await latest_change(session, product_id)
        return _stock_response(stock, change)
