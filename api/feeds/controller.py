"""HTTP routes of data out: GET /products/export (staff) and the public Google Merchant Center feeds."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from litestar import Controller, get
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import CATALOG_READERS, requires
from api.feeds import service
from api.openapi import error_responses
from catalog.settings import Settings
from db.exports import filter_params
from db.models import ProductStatus

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ExportController(Controller):
    path = "/products/export"
    tags = ["integrations"]
    guards = [requires(CATALOG_READERS)]

    @get(
        "/",
        summary="Export products (csv, xlsx or ndjson), with the filters of GET /products",
        responses=error_responses(400, 401, 403),
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
        """CSV and XLSX have the import's columns (edit and import back); NDJSON has one product per line."""
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
    )
    async def google_merchant_xml(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> Stream:
        return Stream(service.feed_xml(sessions, settings), media_type="application/xml; charset=utf-8")

    @get(
        "/google-merchant.tsv",
        summary="Google Merchant Center feed (tab-separated): active products in stock",
        security=[],
        responses=error_responses(),
    )
    async def google_merchant_tsv(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> Stream:
        return Stream(service.feed_tsv(sessions, settings), media_type="text/tab-separated-values; charset=utf-8")
