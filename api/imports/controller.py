"""HTTP routes of spreadsheet import: queue a file, follow its job."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_202_ACCEPTED
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import CATALOG_READERS, CATALOG_WRITERS, requires
from api.auth.security import Principal
from api.imports import service
from api.imports.schemas import ImportRead
from api.openapi import error_responses


class ImportController(Controller):
    tags = ["integrations"]

    @post(
        "/products/import",
        summary="Import products from a CSV or XLSX file (202 with the job)",
        guards=[requires(CATALOG_WRITERS)],
        status_code=HTTP_202_ACCEPTED,
        responses=error_responses(400, 401, 403, 413),
    )
    async def import_products(
        self,
        request: Request[Any, Any, Any],
        sessions: async_sessionmaker[AsyncSession],
        principal: Principal,
        dry_run: bool = False,
        atomic: bool = False,
        filename: Annotated[str | None, Parameter(max_length=500)] = None,
    ) -> Response[ImportRead]:
        """The file is the body (Content-Type text/csv or the XLSX type) or the `file` field of a multipart form.
        Columns: sku (required), name, description, brand, price, currency, status, category_id or category
        (a path), images (`|`-separated), attr.<name>, stock.<WAREHOUSE CODE>, and group_code: the product group
        the row is a variant of (created from its first row when no group has the code; the variant needs a value
        for each of the group's axes, else the row is rejected with MISSING_VARIANT_AXIS). An empty cell keeps the
        value; for a variant, a cell that repeats its group's name, brand, category, description or images keeps
        it inherited, so an export imports back unchanged. A worker imports it: follow GET /imports/{id}.
        `dry_run` validates without writing; `atomic` imports nothing when any row is rejected (otherwise the good
        rows are imported)."""
        job = await service.queue(sessions, request, filename, dry_run, atomic, principal.user_id)
        return Response(job, status_code=HTTP_202_ACCEPTED, headers={"Location": f"/imports/{job.id}"})

    @get(
        "/imports/{import_id:uuid}",
        summary="An import's progress, then its report",
        guards=[requires(CATALOG_READERS)],
        responses=error_responses(401, 403, 404),
    )
    async def get_import(self, import_id: uuid.UUID, sessions: async_sessionmaker[AsyncSession]) -> ImportRead:
        async with sessions() as session:
            return await service.get(session, import_id)
