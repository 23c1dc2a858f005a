"""The search query log: every search is recorded in `search_queries`, off the response path (the dashboard's
Search insights read it; `db.analytics` is where the dashboard's figures are computed).

Entries are buffered in-process and written by a background task half a second after the first one, in one
`INSERT ... SELECT FROM unnest(<one array per column>)` whatever their number; a failure is logged and the
entries dropped, never affecting a shopper's response. `BufferedRecorder` is that mechanism for any table
(click and conversion events use it too, see `api.search.events`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Generic, TypeVar

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

FLUSH_DELAY_SECONDS: Final = 0.5
MAX_BUFFER: Final = 5_000

# One statement per flush whatever the number of entries (an executemany is one statement per row).
# `applied_rules` travels as one array literal per row ('{3,7}'): unnest flattens a two-dimensional array, and
# PostgreSQL arrays cannot be ragged anyway.
_INSERT = text(
    "INSERT INTO search_queries (query, filters, sort, result_count, latency_ms, cached, query_id, applied_rules, "
    "search_key_id) "
    "SELECT q, f, s, n, ms, c, qid, CAST(rules AS bigint[]), key_id FROM unnest(CAST(:query AS text[]), "
    "CAST(:filters AS jsonb[]), CAST(:sort AS text[]), CAST(:result_count AS integer[]), "
    "CAST(:latency_ms AS double precision[]), CAST(:cached AS boolean[]), CAST(:query_id AS uuid[]), "
    "CAST(:applied_rules AS text[]), CAST(:search_key_id AS bigint[])) AS t(q, f, s, n, ms, c, qid, rules, key_id)"
)


@dataclass(frozen=True)
class SearchRecord:
    query: str
    filters: dict[str, Any]
    sort: str
    result_count: int
    latency_ms: float
    cached: bool
    query_id: str | None = None
    """The token the response carried (`api.search.events.issue_query_id`); its uuid is what is stored."""
    applied_rules: tuple[int, ...] = ()
    search_key_id: int | None = None


def columns(entries: Sequence[SearchRecord]) -> dict[str, list[Any]]:
    """The entries as one array per column: the parameters of `_INSERT`."""
    return {
        "query": [e.query for e in entries],
        "filters": [json.dumps(e.filters) for e in entries],
        "sort": [e.sort for e in entries],
        "result_count": [e.result_count for e in entries],
        "latency_ms": [round(e.latency_ms, 2) for e in entries],
        "cached": [e.cached for e in entries],
        "query_id": [query_uuid(e.query_id) if e.query_id else None for e in entries],
        "applied_rules": ["{" + ",".join(str(r) for r in e.applied_rules) + "}" for e in entries],
        "search_key_id": [e.search_key_id for e in entries],
    }


def query_uuid(token: str) -> uuid.UUID:
    """The uuid a query id token carries (its first part), unverified: for tokens this process just issued.
    `api.search.events.verify_query_id` checks a token a client sends back."""
    return uuid.UUID(hex=token.split(".", 1)[0])


Entry = TypeVar("Entry")


@dataclass
class BufferedRecorder(Generic[Entry]):
    """Entries queued in-process and written in one statement per flush, half a second after the first one."""

    sessions: async_sessionmaker[AsyncSession]
    _buffer: list[Entry] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    statement: ClassVar[TextClause]
    what: ClassVar[str]

    @staticmethod
    def parameters(entries: Sequence[Entry]) -> dict[str, list[Any]]:
        """The entries as the parameters of `statement`."""
        raise NotImplementedError

    def record(self, entry: Entry) -> None:
        """Queue an entry; never raises, never waits."""
        if len(self._buffer) >= MAX_BUFFER:
            return  # the database is not keeping up; analytics are best effort
        self._buffer.append(entry)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        # Entries recorded while a flush is writing find this task still running (so `record` starts no other):
        # they are this task's to write, in the next round, or they would wait for the next search to be written.
        while True:
            await asyncio.sleep(FLUSH_DELAY_SECONDS)
            await self.flush()
            if not self._buffer:
                return

    async def flush(self) -> None:
        entries, self._buffer = self._buffer, []
        if not entries:
            return
        try:
            async with self.sessions() as session, session.begin():
                await session.execute(self.statement, self.parameters(entries))
        except Exception:  # analytics must never take search down; the cause is logged
            log.exception("could not record %d %s", len(entries), self.what)


@dataclass
class QueryLog(BufferedRecorder[SearchRecord]):
    statement = _INSERT
    what = "search query log entries"

    @staticmethod
    def parameters(entries: Sequence[SearchRecord]) -> dict[str, list[Any]]:
        return columns(entries)
