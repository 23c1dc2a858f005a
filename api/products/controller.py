"""HTTP routes for products: the SPEC contract plus PATCH, by-sku lookup and bulk upsert."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from litestar import Controller, HttpMethod, Request, Response, delete, get, post, route
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import CATALOG_READERS, CATALOG_WRITERS, requires
from api.auth.security import Principal
from api.groups.schemas import GroupRead
from api.openapi import error_responses
from api.products import bulk, service
from api.products.schemas import BulkResult, ProductCreate, ProductRead, ProductUpdate
from catalog.settings import Settings
from db.models import ProductStatus
from db.session import transaction

CHANGE_HEADER = "X-Catalog-Change"
Versioned = TypeVar("Versioned", ProductRead, GroupRead)
MAX_LIMIT = 1000


def versioned_response(body: Versioned, status: int, change: int | None) -> Response[Versioned]:
    """`body` with its version as the ETag and, after a write, the outbox position of the change
    (`X-Catalog-Change`, for read-your-writes searches)."""
    headers = {"ETag": service.version_etag(body.version)}
    if change is not None:
        headers[CHANGE_HEADER] = str(change)
    return Response(body, status_code=status, headers=headers)


class ProductController(Controller):
    path = "/products"
    tags = ["products"]
    guards = [requires(CATALOG_READERS)]

    @get("/", summary="List products", responses=error_responses(400, 401, 403))
    async def list_products(
        self,
        sessions: async_sessionmaker[AsyncSession],
        skip: Annotated[int, Parameter(ge=0, default=0)] = 0,
        limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT, default=100)] = 100,
        status: ProductStatus | None = None,
        category_id: int | None = None,
        brand: str | None = None,
        sku: str | None = None,
        updated_since: datetime | None = None,
    ) -> Response[list[ProductRead]]:
        """Products ordered by id; the total matching count is in the `X-Total-Count` header."""
        filters = service.ProductFilters(
            status=status, category_id=category_id, brand=brand, sku=sku, updated_since=updated_since
        )
        async with sessions() as session:
            items, total = await service.list_products(session, filters, skip, limit)
        return Response(items, headers={"X-Total-Count": str(total)})

    @post(
        "/",
        summary="Create a product",
        guards=[requires(CATALOG_WRITERS)],
        responses=error_responses(400, 401, 403, 409),
        status_code=HTTP_201_CREATED,
    )
    async def create_product(
        self, data: ProductCreate, sessions: async_sessionmaker[AsyncSession], settings: Settings, principal: Principal
    ) -> Response[ProductRead]:
        async with transaction(sessions, principal.user_id) as session:
            product = await service.create_product(session, data, settings.default_currency)
            assert product.id is not None
            change = await service.latest_change(session, product.id)
            read = await service.get_product(session, product.id)
        return versioned_response(read, HTTP_201_CREATED, change)

    @get("/{product_id:int}", summary="Get a product", responses=error_responses(401, 403, 404))
    async def get_product(self, product_id: int, sessions: async_sessionmaker[AsyncSession]) -> Response[ProductRead]:
        async with sessions() as session:
            read = await service.get_product(session, product_id)
        return versioned_response(read, HTTP_200_OK, None)

    @get(
        "/by-sku/{sku:str}", summary="Get a product by SKU (case-insensitive)", responses=error_responses(401, 403, 404)
    )
    async def get_by_sku(self, sku: str, sessions: async_sessionmaker[AsyncSession]) -> Response[ProductRead]:
        async with sessions() as session:
            read = await service.get_product_by_sku(session, sku)
        return versioned_response(read, HTTP_200_OK, None)

    @route(
        "/{product_id:int}",
        http_method=[HttpMethod.PUT, HttpMethod.PATCH],
        summary="Update a product (PUT and PATCH alike: fields left out keep their value)",
        guards=[requires(CATALOG_WRITERS)],
        responses=error_responses(400, 401, 403, 404, 409, 412),
    )
    async def update_product(
        self,
        product_id: int,
        data: ProductUpdate,
        request: Request[Any, Any, Any],
        sessions: async_sessionmaker[AsyncSession],
        principal: Principal,
    ) -> Response[ProductRead]:
        """Send `If-Match: "<version>"` (the ETag) to refuse the update when someone changed it since."""
        expected = service.parse_if_match(request.headers.get("if-match"))
        async with transaction(sessions, principal.user_id) as session:
            await service.update_product(session, product_id, data, expected)
            change = await service.latest_change(session, product_id)
            read = await service.get_product(session, product_id)
        return versioned_response(read, HTTP_200_OK, change)

    @delete(
        "/{product_id:int}",
        summary="Delete a product",
        guards=[requires(CATALOG_WRITERS)],
        responses=error_responses(204, 400, 401, 403, 404, 412),
        status_code=HTTP_204_NO_CONTENT,
    )
    async def delete_product(
        self,
        product_id: int,
        request: Request[Any, Any, Any],
        sessions: async_sessionmaker[AsyncSession],
        principal: Principal,
    ) -> Response[None]:
        expected = service.parse_if_match(request.headers.get("if-match"))
        async with transaction(sessions, principal.user_id) as session:
            await service.delete_product(session, product_id, expected)
            change = await service.latest_change(session, product_id)
        headers = {CHANGE_HEADER: str(change)} if change is not None else {}
        return Response(None, status_code=HTTP_204_NO_CONTENT, headers=headers)

    @post(
        "/bulk",
        summary="Bulk upsert by SKU (JSON array or NDJSON, up to 10,000 items)",
        guards=[requires(CATALOG_WRITERS)],
        responses=error_responses(400, 401, 403, 413),
        status_code=HTTP_200_OK,
    )
    async def bulk_upsert(
        self,
        request: Request[Any, Any, Any],
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        principal: Principal,
    ) -> BulkResult:
        """Each item is created, updated, unchanged or rejected on its own; a bad item never aborts the rest."""
        items = bulk.parse_items(await request.body(), request.headers.get("content-type", ""))
        return await bulk.upsert(sessions, items, settings.default_currency, principal.user_id)
