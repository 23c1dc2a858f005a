"""Garbage collection of the media bucket: objects no row points to (a crash between object and row, a deleted
product, a failed object delete, a finished presigned upload) are listed, and with `apply` deleted.

Objects younger than `min_age` are never touched: an upload writes its object before its row commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from catalog.settings import Settings
from db import media_jobs
from media.store import MediaStore, ObjectInfo

PREFIXES = ("products/", "uploads/")


@dataclass
class GcReport:
    scanned: int = 0
    orphans: list[ObjectInfo] = field(default_factory=list)
    deleted: int = 0
    uploads_forgotten: int = 0

    @property
    def orphan_bytes(self) -> int:
        return sum(item.size for item in self.orphans)


def collect(
    settings: Settings,
    *,
    apply: bool = False,
    min_age: timedelta = timedelta(hours=1),
    progress: Callable[[int], None] = lambda scanned: None,
) -> GcReport:
    """Find (and with `apply`, delete) the bucket's objects that no row points to and are older than `min_age`.

    The referenced keys are read first, then the bucket is listed: a row committed after that read points at an
    object younger than `min_age`, which is spared.
    """
    store = MediaStore(settings)
    report = GcReport()
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        referenced = media_jobs.referenced_keys(conn)
        cutoff = datetime.now(UTC) - min_age
        for prefix in PREFIXES:
            for item in store.iter_objects(prefix):
                report.scanned += 1
                if report.scanned % 100 == 0:
                    progress(report.scanned)
                if item.key in referenced:
                    continue
                if item.last_modified is not None and item.last_modified > cutoff:
                    continue
                report.orphans.append(item)
        progress(report.scanned)
        if apply:
            keys = [item.key for item in report.orphans]
            store.delete(keys)
            report.deleted = len(keys)
            report.uploads_forgotten = media_jobs.drop_finished_uploads(conn, max(min_age.total_seconds() / 3600, 1))
    return report
