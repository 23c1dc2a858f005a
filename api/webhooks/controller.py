"""HTTP routes of webhooks (admin) and stock.low thresholds (catalog writers)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, delete, get, patch, post, put
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import ADMINS, CATALOG_READERS, CATALOG_WRITERS, requires
from api.auth.security import Principal
from api.openapi import error_responses
from api.webhooks import service
from api.webhooks.schemas import (
    DeliveryRead,
    ThresholdRead,
    ThresholdSet,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)
from db.session import transaction


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["integrations"]
    guards = [requires(ADMINS)]

    @post(
        "/",
        summary="Register a webhook endpoint",
        status_code=HTTP_201_CREATED,
        responses=error_responses(400, 401, 403),
    )
    async def create_webhook(
        self, data: WebhookCreate, sessions: async_sessionmaker[AsyncSession], principal: Principal
    ) -> WebhookCreated:
        """Deliveries of the chosen events start with the changes committed after this call. Each is a POST of
        JSON signed `X-Catalog-Signature: t=<ts>,sha256=<hex HMAC-SHA256 of "<ts>.<body>">`; any 2xx
        acknowledges it, anything else is retried with exponential backoff for hours, then marked failed."""
        async with transaction(sessions, principal.user_id) as session:
            return await service.create(session, data, principal.user_id)

    @get("/", summary="List webhook endpoints", responses=error_responses(401, 403))
    async def list_webhooks(self, sessions: async_sessionmaker[AsyncSession]) -> list[WebhookRead]:
        async with sessions() as session:
            return await service.list_all(session)

    @get("/{webhook_id:int}", summary="Get a webhook endpoint", responses=error_responses(401, 403, 404))
    async def get_webhook(self, webhook_id: int, sessions: async_sessionmaker[AsyncSession]) -> WebhookRead:
        async with sessions() as session:
            return await service.get(session, webhook_id)

    @patch(
        "/{webhook_id:int}",
        summary="Change a webhook endpoint (url, events, secret, active)",
        responses=error_responses(400, 401, 403, 404),
    )
    async def update_webhook(
        self, webhook_id: int, data: WebhookUpdate, sessions: async_sessionmaker[AsyncSession], principal: Principal
    ) -> WebhookRead:
        async with transaction(sessions, principal.user_id) as session:
            return await service.update(session, webhook_id, data)

    @delete(
        "/{webhook_id:int}",
        summary="Remove a webhook endpoint and its deliveries",
        status_code=HTTP_204_NO_CONTENT,
        responses=error_responses(204, 401, 403, 404),
    )
    async def delete_webhook(
        self, webhook_id: int, sessions: async_sessionmaker[AsyncSession], principal: Principal
    ) -> None:
        async with transaction(sessions, principal.user_id) as session:
            await service.delete(session, webhook_id)

    @get(
        "/{webhook_id:int}/deliveries",
        summary="A webhook's deliveries, newest first",
        responses=error_responses(401, 403, 404),
    )
    async def list_deliveries(
        self,
        webhook_id: int,
        sessions: async_sessionmaker[AsyncSession],
        status: Literal["pending", "delivered", "failed"] | None = None,
        before: Annotated[int | None, Parameter(ge=1, description="a delivery id: older ones")] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> list[DeliveryRead]:
        async with sessions() as session:
            return await service.deliveries(session, webhook_id, status, before, limit)


class ThresholdController(Controller):
    path = "/stock-thresholds"
    tags = ["integrations"]
    guards = [requires(CATALOG_READERS)]

    @get("/", summary="stock.low thresholds", responses=error_responses(401, 403))
    async def list_thresholds(self, sessions: async_sessionmaker[AsyncSession]) -> list[ThresholdRead]:
        async with sessions() as session:
            return await service.list_thresholds(session)

    @put(
        "/",
        summary="Set the stock.low threshold of a product or a category",
        guards=[requires(CATALOG_WRITERS)],
        responses=error_responses(400, 401, 403),
    )
    async def set_threshold(
        self, data: ThresholdSet, sessions: async_sessionmaker[AsyncSession], principal: Principal
    ) -> ThresholdRead:
        async with transaction(sessions, principal.user_id) as session:
            return await service.set_threshold(session, data)

    @delete(
        "/{threshold_id:int}",
        summary="Remove a threshold (the default applies again)",
        guards=[requires(CATALOG_WRITERS)],
        status_code=HTTP_204_NO_CONTENT,
        responses=error_responses(204, 401, 403, 404),
    )
    async def delete_threshold(
        self, threshold_id: int, sessions: async_sessionmaker[AsyncSession], principal: Principal
    ) -> None:
        async with transaction(sessions, principal.user_id) as session:
            await service.delete_threshold(session, threshold_id)
