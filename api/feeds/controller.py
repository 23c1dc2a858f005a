"""HTTP routes of data out: GET /products/export (staff) and the public Google Merchant Center feeds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from litestar import Controller, get
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Operation, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import CATALOG_READERS, requires
from api.feeds import service
from api.openapi import error_responses
from catalog.settings import Settings
from db.exports import filter_params
from db.models import ProductStatus

MEDIA_TYPES = {
    "csv": "text/csv",
    "ndjson": "application/x-ndjson",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
XML, TSV = "application/xml", "text/tab-separated-values"


def streamed(*media_types: str) -> type[Operation]:
    """An operation whose 200 is a file in one of `media_types` (Litestar documents one media type per route)."""

    @dataclass
    class StreamedOperation(Operation):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            if isinstance(ok, OpenAPIResponse):
                body = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
                ok.content = {media_type: OpenAPIMediaType(schema=body) for media_type in media_types}

    return StreamedOperation


class ExportController(Controller):
    path = "/products/export"
    tags = ["integrations"]
    guards = [requires(CATALOG_READERS)]

    @get(
        "/",
        summary="Export products (csv, xlsx or ndjson), with the filters of GET /products",
        responses=error_responses(400, 401, 403),
        operation_class=streamed(*MEDIA_TYPES.values()),
    )
    async def export_products(
        self,
        sessions: async_sessionmaker[AsyncSession],
        format: Literal["csv", "xlsx", "ndjson"] = "csv",
        status: ProductStatus | None = None,
        category_id: int | None = None,
        brand: str | None = None,
        sku: str | None = None,
        updated_since: datetime | None = None,
    ) -> Stream:
        """CSV and XLSX have the import's columns (edit and import back; `group_code` names a variant's product
        group, empty for a product of its own); NDJSON has one product per line, with `group_id`, `group_code` and
        `inherited` (the fields a variant takes from its group)."""
        path = await service.category_path(sessions, category_id)
        params = filter_params(status.value if status else None, brand, sku, updated_since, path)
        body = {"csv": service.export_csv, "xlsx": service.export_xlsx, "ndjson": service.export_ndjson}[format]
        return Stream(
            body(sessions, params),
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="products.{format}"'},
        )


class FeedController(Controller):
    path = "/feeds"
    tags = ["integrations"]

    @get(
        "/google-merchant.xml",
        summary="Google Merchant Center feed (RSS 2.0): active products in stock",
        security=[],
        responses=error_responses(),
        operation_class=streamed(XML),
    )
    async def google_merchant_xml(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> Stream:
        return Stream(service.feed_xml(sessions, settings), media_type=XML)

    @get(
        "/google-merchant.tsv",
        summary="Google Merchant Center feed (tab-separated): active products in stock",
        security=[],
        responses=error_responses(),
        operation_class=streamed(TSV),
    )
    async def google_merchant_tsv(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> Stream:
        return Stream(service.feed_tsv(sessions, settings), media_type=TSV)
