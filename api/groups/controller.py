"""HTTP routes for product groups: models sold in variants (the variants are products with a `group_id`)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import CATALOG_READERS, CATALOG_WRITERS, requires
from api.auth.security import Principal
from api.groups import service
from api.groups.schemas import GroupCreate, GroupRead, GroupUpdate
from api.openapi import error_responses
from api.products.controller import MAX_LIMIT, versioned_response
from db.session import transaction


class ProductGroupController(Controller):
    path = "/product-groups"
    tags = ["product groups"]
    guards = [requires(CATALOG_READERS)]

    @get("/", summary="List product groups", responses=error_responses(400, 401, 403))
    async def list_groups(
        self,
        sessions: async_sessionmaker[AsyncSession],
        skip: Annotated[int, Parameter(ge=0, default=0)] = 0,
        limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT, default=100)] = 100,
        category_id: int | None = None,
        code: str | None = None,
    ) -> Response[list[GroupRead]]:
        """Groups ordered by id, each with its `variant_count`; the total is in the `X-Total-Count` header."""
        async with sessions() as session:
            items, total = await service.list_groups(session, skip, limit, category_id, code)
        return Response(items, headers={"X-Total-Count": str(total)})

    @post("/", summary="Create a product group", guards=[requires(CATALOG_WRITERS)],
          responses=error_responses(400, 401, 403, 409), status_code=HTTP_201_CREATED)
    async def create_group(self, data: GroupCreate, sessions: async_sessionmaker[AsyncSession],
                           principal: Principal) -> Response[GroupRead]:
        """Then create its variants as products with `group_id` (or send them to `POST /products/bulk` with
        `group_code`)."""
        async with transaction(sessions, principal.user_id) as session:
            group = await service.create_group(session, data)
            assert group.id is not None
            read = await service.get_group(session, group.id)
        return versioned_response(read, HTTP_201_CREATED, None)

    @get("/{group_id:int}", summary="Get a product group with its variants", responses=error_responses(401, 403, 404))
    async def get_group(self, group_id: int, sessions: async_sessionmaker[AsyncSession]) -> Response[GroupRead]:
        async with sessions() as session:
            read = await service.get_group(session, group_id)
        return versioned_response(read, HTTP_200_OK, None)

    @patch("/{group_id:int}", summary="Update a product group (its variants follow what they inherit)",
           guards=[requires(CATALOG_WRITERS)], responses=error_responses(400, 401, 403, 404, 409))
    async def update_group(self, group_id: int, data: GroupUpdate, sessions: async_sessionmaker[AsyncSession],
                           principal: Principal) -> Response[GroupRead]:
        """New `axes` must name attributes every variant has, with distinct values (else 400 or 409, and
        nothing changes)."""
        async with transaction(sessions, principal.user_id) as session:
            await service.update_group(session, group_id, data)
            change = await service.latest_change(session, group_id)
            read = await service.get_group(session, group_id)
        return versioned_response(read, HTTP_200_OK, change)

    @delete("/{group_id:int}", summary="Delete a product group (its variants stay, as products of their own)",
            guards=[requires(CATALOG_WRITERS)], responses=error_responses(204, 401, 403, 404),
            status_code=HTTP_204_NO_CONTENT)
    async def delete_group(self, group_id: int, sessions: async_sessionmaker[AsyncSession],
                           principal: Principal) -> None:
        async with transaction(sessions, principal.user_id) as session:
            await service.delete_group(session, group_id)
