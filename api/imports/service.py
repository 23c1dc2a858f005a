"""Queueing an uploaded spreadsheet as an import job and reading a job's progress and report."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.imports import parsing
from api.imports.schemas import ImportCounts, ImportError_, ImportRead
from api.imports.worker import create_job
from catalog.errors import InvalidInput, NotFound
from db import imports as db


def to_read(row: Any) -> ImportRead:
    (
        job_id,
        status,
        fmt,
        filename,
        dry_run,
        atomic,
        total,
        processed,
        created,
        updated,
        unchanged,
        rejected,
        errors,
        message,
        created_at,
        started_at,
        finished_at,
    ) = row
    return ImportRead(
        id=job_id,
        status=status,
        format=fmt,
        filename=filename,
        dry_run=dry_run,
        atomic=atomic,
        total_rows=total,
        processed_rows=processed,
        counts=ImportCounts(created=created, updated=updated, unchanged=unchanged, rejected=rejected),
        errors=[ImportError_(row=e["row"], column=e["column"], code=e["code"], message=e["message"]) for e in errors],
        message=message,
        created_at=created_at,
        started_at=started_at,
        finished_at=finished_at,
    )


async def _upload(request: Request[Any, Any, Any], filename: str | None) -> tuple[bytes, str, str]:
    """(bytes, file name, content type) of a raw body or of the `file` field of a multipart form."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("Send the spreadsheet in the form field `file`.", {"fields": {"file": "missing"}})
        return await upload.read(), filename or upload.filename or "", upload.content_type or ""
    return await request.body(), filename or "", content_type


async def queue(
    sessions: async_sessionmaker[AsyncSession],
    request: Request[Any, Any, Any],
    filename: str | None,
    dry_run: bool,
    atomic: bool,
    actor: uuid.UUID,
) -> ImportRead:
    data, name, content_type = await _upload(request, filename)
    if not data.strip():
        raise InvalidInput("The file is empty.", {"fields": {"file": "empty"}}, code="EMPTY_FILE")
    fmt = parsing.detect_format(name, content_type, data)
    if fmt is None:
        raise InvalidInput(
            "Send a CSV (Content-Type: text/csv) or an XLSX workbook.",
            {"fields": {"file": f"content type {content_type!r}, name {name!r}"}},
            code="UNSUPPORTED_FORMAT",
        )
    return to_read(await create_job(sessions, data, fmt, name, dry_run, atomic, actor))


async def get(session: AsyncSession, job_id: uuid.UUID) -> ImportRead:
    row = (await (await session.connection()).exec_driver_sql(db.GET_JOB_SQL, {"id": job_id})).first()
    if row is None:
        raise NotFound(f"Import {job_id} does not exist.", {"import_id": str(job_id)}, code="IMPORT_NOT_FOUND")
    return to_read(row)
