"""The import worker (runs inside `catalog webhooks worker`) and `catalog import FILE` with a progress bar.

Jobs wait in `import_jobs`; a worker claims one with a lease (SKIP LOCKED), so several workers share the queue
and a job whose worker died is picked up again once its lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.imports import parsing
from api.imports.runner import LEASE_SECONDS, run_job
from catalog.settings import Settings
from db import imports as db
from db.notify import listen
from db.session import async_session_factory, make_async_engine

log = logging.getLogger("catalog.imports")
CHANNEL = "catalog_imports"


async def claim(sessions: async_sessionmaker[AsyncSession], job_id: uuid.UUID | None = None) -> uuid.UUID | None:
    async with sessions() as session, session.begin():
        conn = await session.connection()
        sql, params = (db.CLAIM_ONE_SQL, {"id": job_id}) if job_id else (db.CLAIM_JOB_SQL, {})
        row = (await conn.exec_driver_sql(sql, {**params, "lease": LEASE_SECONDS})).first()
    return row[0] if row else None


class ImportWorker:
    def __init__(self, settings: Settings, stop: asyncio.Event | None = None) -> None:
        self.settings = settings
        self.stop = stop or asyncio.Event()
        self._wake = asyncio.Event()

    async def run_once(self, sessions: async_sessionmaker[AsyncSession]) -> bool:
        job_id = await claim(sessions)
        if job_id is None:
            return False
        log.info("import %s started", job_id)
        try:
            await run_job(self.settings, sessions, job_id)
        except Exception:  # the job's lease runs out and it is retried; the worker keeps serving the others
            log.exception("import %s crashed", job_id)
        else:
            log.info("import %s finished", job_id)
        return True

    async def run(self) -> None:
        engine = make_async_engine(self.settings)
        sessions = async_session_factory(engine)
        listener = asyncio.create_task(
            listen(self.settings.postgres_dsn, CHANNEL, self._wake, self.stop, self.settings.webhook_poll_interval)
        )
        try:
            while not self.stop.is_set():
                try:
                    while not self.stop.is_set() and await self.run_once(sessions):
                        pass
                except psycopg.Error as exc:
                    log.warning("claiming an import failed, will retry: %s", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_interval * 5)
                self._wake.clear()
        finally:
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
            await engine.dispose()


async def create_job(
    sessions: async_sessionmaker[AsyncSession],
    data: bytes,
    fmt: str,
    filename: str,
    dry_run: bool,
    atomic: bool,
    actor: uuid.UUID | None,
    *,
    run_here: bool = False,
) -> Any:
    """Queue a job (and wake the workers), or with `run_here` claim it for the caller in the same transaction."""
    async with sessions() as session, session.begin():
        conn = await session.connection()
        row = (
            await conn.exec_driver_sql(
                db.CREATE_JOB_SQL,
                {
                    "id": uuid.uuid4(),
                    "format": fmt,
                    "filename": filename[:500],
                    "dry_run": dry_run,
                    "atomic": atomic,
                    "file": data,
                    "actor": actor,
                },
            )
        ).one()
        if run_here:
            await conn.exec_driver_sql(db.CLAIM_ONE_SQL, {"id": row[0], "lease": LEASE_SECONDS})
        else:
            await conn.exec_driver_sql(db.NOTIFY_SQL)
    return row


async def run_file_with_progress(settings: Settings, filename: str, data: bytes, dry_run: bool, atomic: bool) -> int:
    """`catalog import`: queue the file as a job, run it here with a progress bar, print the report."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    console = Console()
    fmt = parsing.detect_format(filename, "", data)
    if fmt is None:
        console.print(f"[red]error:[/] {filename} is neither CSV nor XLSX")
        return 2
    engine = make_async_engine(settings)
    sessions = async_session_factory(engine)
    try:
        job_id = (await create_job(sessions, data, fmt, filename, dry_run, atomic, None, run_here=True))[0]
        columns = (TextColumn("[bold]import"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("rows", total=None)
            await run_job(settings, sessions, job_id, lambda done, total: bar.update(task, completed=done, total=total))
        async with sessions() as session:
            conn = await session.connection()
            report: Any = (await conn.exec_driver_sql(db.GET_JOB_SQL, {"id": job_id})).one()
    finally:
        await engine.dispose()
    status, message, errors = report[1], report[13], report[12]
    console.print(f"import {job_id}: {status}. {message or ''}")
    if errors:
        table = Table("row", "column", "code", "message")
        for error in errors[:50]:
            table.add_row(str(error["row"]), str(error["column"] or ""), error["code"], error["message"])
        console.print(table)
        if len(errors) > 50:
            console.print(f"... and {len(errors) - 50} more (GET /imports/{job_id})")
    return 0 if status == "done" and not report[11] else 1
