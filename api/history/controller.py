"""HTTP routes of product history: the audit trail and the price history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import CATALOG_READERS, requires
from api.history import service
from api.history.schemas import HistoryPage, PriceHistory
from api.openapi import error_responses

MAX_LIMIT = 500


class HistoryController(Controller):
    path = "/products"
    tags = ["products"]
    guards = [requires(CATALOG_READERS)]

    @get(
        "/{product_id:int}/history",
        summary="A product's audit trail, newest first",
        responses=error_responses(401, 403, 404),
    )
    async def product_history(
        self,
        product_id: int,
        sessions: async_sessionmaker[AsyncSession],
        before: Annotated[int | None, Parameter(ge=1, description="`next_cursor` of the previous page")] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 50,
    ) -> HistoryPage:
        """Who changed what and when: product fields (old and new), stock per warehouse with the reason given
        for an adjustment, images. A deleted product's history stays readable."""
        async with sessions() as session:
            return await service.product_history(session, product_id, before, limit)

    @get(
        "/{product_id:int}/prices",
        summary="A product's price history with validity intervals",
        responses=error_responses(401, 403, 404),
    )
    async def price_history(
        self,
        product_id: int,
        sessions: async_sessionmaker[AsyncSession],
        at: Annotated[datetime | None, Parameter(description="only the price valid at this instant")] = None,
    ) -> PriceHistory:
        async with sessions() as session:
            return await service.price_history(session, product_id, at)
