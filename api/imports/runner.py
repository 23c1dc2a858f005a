"""Running one import job: parse the spreadsheet, validate and write it in chunks through the bulk upsert's
set-based path (COPY + one merge per chunk), set stock, keep progress and the per-row report.

Without `atomic` (and not a dry run) each chunk commits with the job's progress, so good rows are imported and a
restarted worker resumes after the last committed chunk. With `atomic` or `dry_run` everything runs in one
transaction that is rolled back on a dry run, or when any row is rejected (nothing imported); progress is then
reported from a second connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.groups import service as groups
from api.imports import parsing
from api.products import bulk, validation
from api.products import service as products
from api.products.schemas import BulkItem, BulkItemResult
from catalog.settings import Settings
from db import imports as db
from db.session import set_actor

CHUNK = bulk.CHUNK
LEASE_SECONDS = 120
MAX_REPORTED_ERRORS = 10_000
Progress = Callable[[int, int], None]


@dataclass
class Tally:
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, error: parsing.RowError) -> None:
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error.as_dict())

    def params(self, job_id: uuid.UUID) -> dict[str, Any]:
        return {
            "id": job_id,
            "processed": self.processed,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": Jsonb(self.errors),
            "lease": LEASE_SECONDS,
        }


async def _execute(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[Any]:
    result = await (await session.connection()).exec_driver_sql(sql, params)
    return list(result.all()) if result.returns_rows else []


@dataclass
class Job:
    id: uuid.UUID
    file: bytes
    format: str
    dry_run: bool
    atomic: bool
    actor: uuid.UUID | None
    resume: Tally


async def _load(sessions: async_sessionmaker[AsyncSession], job_id: uuid.UUID) -> Job:
    async with sessions() as session:
        (row,) = await _execute(session, db.LOAD_JOB_SQL, {"id": job_id})
    file, fmt, dry_run, atomic, processed, created, updated, unchanged, rejected, errors, actor = row
    resumable = not (atomic or dry_run)
    resume = Tally(processed, created, updated, unchanged, rejected, list(errors)) if resumable else Tally()
    return Job(job_id, bytes(file or b""), fmt, dry_run, atomic, actor, resume)


class ImportRun:
    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], job: Job, progress: Progress | None
    ) -> None:
        self.settings, self.sessions, self.job, self.progress = settings, sessions, job, progress
        self.tally = job.resume
        self.first_rows: dict[str, int] = {}
        self.codes: dict[int, str] = {}

    async def finish(self, status: str, message: str) -> None:
        async with self.sessions() as session, session.begin():
            await _execute(
                session, db.FINISH_SQL, {**self.tally.params(self.job.id), "status": status, "message": message}
            )

    async def _report_progress(self, session: AsyncSession | None = None) -> None:
        if session is not None:
            await _execute(session, db.PROGRESS_SQL, self.tally.params(self.job.id))
        else:
            async with self.sessions() as own, own.begin():
                await _execute(own, db.PROGRESS_SQL, self.tally.params(self.job.id))

    async def run(self, header: list[str], rows: list[tuple[int, list[Any]]]) -> None:
        async with self.sessions() as session:
            ref = await validation.reference(session)
            warehouses = {code: wid for code, wid in await _execute(session, db.WAREHOUSES_SQL, {})}
        self.codes = {wid: code for code, wid in warehouses.items()}
        cols = parsing.plan_columns(header, warehouses)
        if cols.problems:
            for problem in cols.problems:
                self.tally.reject(problem)
            await self.finish("failed", "The header has problems (see errors, row 1); nothing was imported.")
            return
        self._first_rows(rows, cols)
        async with self.sessions() as session, session.begin():
            await _execute(session, db.TOTAL_SQL, {"id": self.job.id, "total": len(rows)})
        kinds = parsing.attribute_types(ref)
        chunks = [rows[i : i + CHUNK] for i in range(self.tally.processed, len(rows), CHUNK)]
        if self.job.atomic or self.job.dry_run:
            await self._all_at_once(chunks, cols, ref, kinds)
        else:
            for chunk in chunks:
                async with self.sessions() as session, session.begin():
                    await set_actor(session, self.job.actor)
                    await self._chunk(session, chunk, cols, ref, kinds)
                    await self._report_progress(session)
                self._tell(len(rows))
        await self.finish("done", self._summary())

    async def _all_at_once(
        self,
        chunks: list[list[tuple[int, list[Any]]]],
        cols: parsing.Columns,
        ref: validation.Reference,
        kinds: dict[str, str],
    ) -> None:
        total = sum(len(c) for c in chunks)
        async with self.sessions() as session:
            await session.begin()
            await set_actor(session, self.job.actor)
            for chunk in chunks:
                await self._chunk(session, chunk, cols, ref, kinds)
                await self._report_progress()
                self._tell(total)
            if self.job.dry_run or self.tally.rejected:
                await session.rollback()
            else:
                await session.commit()
        if self.job.atomic and self.tally.rejected and not self.job.dry_run:
            self.tally.created = self.tally.updated = self.tally.unchanged = 0

    def _tell(self, total: int) -> None:
        if self.progress is not None:
            self.progress(self.tally.processed, total)

    def _summary(self) -> str:
        t = self.tally
        counts = f"{t.created} created, {t.updated} updated, {t.unchanged} unchanged, {t.rejected} rejected"
        if self.job.dry_run:
            return f"Dry run, nothing written: {counts} (would be)."
        if self.job.atomic and t.rejected:
            return f"Nothing imported (atomic): {t.rejected} rows rejected."
        return f"Imported: {counts}."

    def _first_rows(self, rows: list[tuple[int, list[Any]]], cols: parsing.Columns) -> None:
        """Where each SKU first appears, so a later row with the same SKU is rejected even across chunks."""
        sku_index = next(i for i, name in cols.fields.items() if name == "sku")
        for number, values in rows:
            sku = parsing._blank(values[sku_index]) if sku_index < len(values) else None
            if sku is not None:
                self.first_rows.setdefault(str(sku).lower(), number)

    async def _chunk(
        self,
        session: AsyncSession,
        chunk: list[tuple[int, list[Any]]],
        cols: parsing.Columns,
        ref: validation.Reference,
        kinds: dict[str, str],
    ) -> None:
        parsed = [parsing.to_row(number, values, cols, ref, kinds) for number, values in chunk]
        for row in parsed:
            if row.item is not None and (first := self.first_rows.get(row.item.sku.lower(), row.number)) < row.number:
                row.errors.append(
                    parsing.RowError(
                        row.number, "sku", "DUPLICATE_SKU_IN_FILE", f"SKU {row.item.sku!r} is also on row {first}."
                    )
                )
        await self._check_reserved(session, [r for r in parsed if r.item is not None and r.stock and not r.errors])
        good = [r for r in parsed if r.item is not None and not r.errors]
        await self._leave_inherited(session, [r.item for r in good if r.item is not None])
        items = [bulk.ParsedItem(r.number, r.item) for r in good]
        results = {res.index: res for res in await bulk.write_chunk(session, items, self.settings.default_currency)}
        restocked = await self._set_stock(session, good, results)
        for row in parsed:
            self.tally.processed += 1
            result = results.get(row.number)
            if row.errors or result is None or result.status == "error":
                self.tally.rejected += 1
                for error in row.errors or [self._bulk_error(row.number, result)]:
                    self.tally.reject(error)
            elif result.status == "created":
                self.tally.created += 1
            elif result.status == "updated" or result.id in restocked:
                self.tally.updated += 1
            else:
                self.tally.unchanged += 1

    @staticmethod
    async def _leave_inherited(session: AsyncSession, items: list[BulkItem]) -> None:
        """Place the variants first (creating the groups new codes name, from their first row, as the bulk write
        would), so cells that repeat their group's values can be left out (`parsing.leave_inherited`)."""
        coded = [item for item in items if isinstance(item.group_code, str)]
        by_code = await groups.groups_by_code(session, coded) if coded else {}
        plain = [item.sku.lower() for item in items if not isinstance(item.group_code, str)]
        current = dict(await _execute(session, db.GROUP_OF_SKUS_SQL, {"skus": plain})) if plain else {}
        targets: dict[str, int] = {}
        for item in items:
            target = by_code.get(item.group_code.lower()) if isinstance(item.group_code, str) else current.get(
                item.sku.lower())
            if isinstance(target, int):
                targets[item.sku.lower()] = target
        facts = await products.load_groups(session, list(set(targets.values())))
        for item in items:
            group = facts.get(targets.get(item.sku.lower(), -1))
            if group is not None:
                parsing.leave_inherited(item, group)

    @staticmethod
    def _bulk_error(number: int, result: BulkItemResult | None) -> parsing.RowError:
        error = (result.error if result is not None else None) or {}
        fields = (error.get("details") or {}).get("fields") or {}
        column = parsing.column_of(next(iter(fields))) if fields else None
        return parsing.RowError(number, column, str(error.get("code", "REJECTED")), str(error.get("message", "")))

    async def _check_reserved(self, session: AsyncSession, rows: list[parsing.Row]) -> None:
        if not rows:
            return
        skus = [r.item.sku.lower() for r in rows if r.item is not None]
        reserved = {(s, w): n for s, w, n in await _execute(session, db.RESERVED_SQL, {"skus": skus})}
        for row in rows:
            assert row.item is not None
            for warehouse_id, quantity in row.stock.items():
                held = reserved.get((row.item.sku.lower(), warehouse_id), 0)
                if quantity < held:
                    row.errors.append(
                        parsing.RowError(
                            row.number,
                            f"{parsing.STOCK_PREFIX}{self.codes.get(warehouse_id, warehouse_id)}",
                            "STOCK_BELOW_RESERVED",
                            f"{quantity} on hand is less than the {held} units reserved.",
                        )
                    )

    async def _set_stock(
        self, session: AsyncSession, rows: list[parsing.Row], results: dict[int, BulkItemResult]
    ) -> set[int]:
        products: list[int] = []
        warehouses: list[int] = []
        on_hand: list[int] = []
        for row in rows:
            result = results.get(row.number)
            if result is None or result.status == "error" or result.id is None:
                continue
            for warehouse_id, quantity in sorted(row.stock.items()):
                products.append(result.id)
                warehouses.append(warehouse_id)
                on_hand.append(quantity)
        if not products:
            return set()
        changed = await _execute(
            session, db.SET_STOCK_SQL, {"products": products, "warehouses": warehouses, "on_hand": on_hand}
        )
        return {int(r[0]) for r in changed}


async def run_job(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], job_id: uuid.UUID, progress: Progress | None = None
) -> None:
    """Run a claimed job to its end (status done or failed)."""
    job = await _load(sessions, job_id)
    run = ImportRun(settings, sessions, job, progress)
    try:
        header, rows = parsing.read_rows(job.file, job.format)
    except parsing.FileProblem as exc:
        await run.finish("failed", str(exc))
        return
    await run.run(header, rows)
