"""HTTP routes for the category tree and each category's attribute definitions."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post, put
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import CATALOG_READERS, CATALOG_WRITERS, requires
from api.auth.security import Principal
from api.categories import service
from api.categories.schemas import (
    AttributeDefinition,
    AttributeDefinitions,
    CategoryCreate,
    CategoryNode,
    CategoryRead,
    CategoryUpdate,
)
from api.openapi import error_responses
from catalog.settings import Settings
from db.session import transaction


class CategoryController(Controller):
    path = "/categories"
    tags = ["categories"]
    guards = [requires(CATALOG_READERS)]

    @get("/", summary="List categories (flat, ordered by path)", responses=error_responses(401, 403))
    async def list_categories(self, sessions: async_sessionmaker[AsyncSession], with_counts: bool = False
                              ) -> list[CategoryRead]:
        """`with_counts=true` adds `product_count`: products in the category and all its descendants."""
        async with sessions() as session:
            return await service.list_categories(session, with_counts)

    @get("/tree", summary="The category tree, nested", responses=error_responses(401, 403))
    async def tree(self, sessions: async_sessionmaker[AsyncSession], with_counts: bool = False
                   ) -> list[CategoryNode]:
        async with sessions() as session:
            return service.build_tree(await service.list_categories(session, with_counts))

    @get("/{category_id:int}", summary="Get a category", responses=error_responses(401, 403, 404))
    async def get_category(self, category_id: int, sessions: async_sessionmaker[AsyncSession],
                           with_counts: bool = False) -> CategoryRead:
        async with sessions() as session:
            return await service.get_category(session, category_id, with_counts)

    @post("/", summary="Create a category", guards=[requires(CATALOG_WRITERS)],
          responses=error_responses(400, 401, 403, 409), status_code=HTTP_201_CREATED)
    async def create_category(self, data: CategoryCreate, sessions: async_sessionmaker[AsyncSession],
                              principal: Principal) -> CategoryRead:
        """The path is computed from the parent's path and the slug."""
        async with transaction(sessions, principal.user_id) as session:
            return await service.create_category(session, data)

    @patch("/{category_id:int}", summary="Rename, re-slug or move a category (with its whole subtree)",
           guards=[requires(CATALOG_WRITERS)], responses=error_responses(400, 401, 403, 404, 409),
           status_code=HTTP_200_OK)
    async def update_category(self, category_id: int, data: CategoryUpdate,
                              sessions: async_sessionmaker[AsyncSession], settings: Settings,
                              principal: Principal) -> CategoryRead:
        """A move rewrites the path and depth of every descendant in the same transaction; moving a category
        under itself or one of its descendants is refused with CATEGORY_CYCLE."""
        async with transaction(sessions, principal.user_id) as session:
            category, moved = await service.update_category(session, category_id, data)
        if moved:  # inherited quality rules and required attributes changed for the whole subtree
            await service.refresh_completeness(settings.database_url, [category_id])
        return category

    @delete("/{category_id:int}", summary="Delete an empty category", guards=[requires(CATALOG_WRITERS)],
            responses=error_responses(204, 401, 403, 404, 409), status_code=HTTP_204_NO_CONTENT)
    async def delete_category(self, category_id: int, sessions: async_sessionmaker[AsyncSession],
                              principal: Principal) -> None:
        """Refused with CATEGORY_NOT_EMPTY while it has subcategories or products."""
        async with transaction(sessions, principal.user_id) as session:
            await service.delete_category(session, category_id)

    @get("/{category_id:int}/attributes", summary="The category's own attribute definitions",
         responses=error_responses(401, 403, 404))
    async def get_attributes(self, category_id: int, sessions: async_sessionmaker[AsyncSession]
                             ) -> list[AttributeDefinition]:
        async with sessions() as session:
            return await service.get_attributes(session, category_id)

    @put("/{category_id:int}/attributes", summary="Replace the category's attribute definitions",
         guards=[requires(CATALOG_WRITERS)], responses=error_responses(400, 401, 403, 404))
    async def put_attributes(self, category_id: int, data: AttributeDefinitions,
                             sessions: async_sessionmaker[AsyncSession], settings: Settings,
                             principal: Principal) -> list[AttributeDefinition]:
        """The body is the complete set: definitions left out are removed. Products below the category are
        re-scored, since required attributes count towards completeness."""
        async with transaction(sessions, principal.user_id) as session:
            definitions = await service.replace_attributes(session, category_id, data)
        await service.refresh_completeness(settings.database_url, [category_id])
        return definitions
