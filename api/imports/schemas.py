"""Response schemas of import jobs."""

from __future__ import annotations

import uuid
from datetime import datetime

from msgspec import Struct


class ImportCounts(Struct):
    created: int
    updated: int
    unchanged: int
    rejected: int


class ImportError_(Struct):
    row: int
    """The spreadsheet row (the header is row 1)."""
    column: str | None
    code: str
    message: str


class ImportRead(Struct):
    """`status`: queued, running, done (the report is final) or failed (the file or its header could not be used;
    nothing was imported). `errors`: one line per rejected row (e.g. MISSING_VARIANT_AXIS for a variant without a
    value for one of its group's axes, `column` naming it), and for a failed job the header's problems (row 1)."""

    id: uuid.UUID
    status: str
    format: str
    filename: str
    dry_run: bool
    atomic: bool
    total_rows: int | None
    processed_rows: int
    counts: ImportCounts
    errors: list[ImportError_]
    message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
