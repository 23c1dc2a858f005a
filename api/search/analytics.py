"""Search analytics: every search is recorded in `search_queries`, off the response path.

Entries are buffered in-process and written by a background task half a second after the first one, in one
`INSERT ... SELECT FROM unnest(<one array per column>)` whatever their number; a failure is logged and the
entries dropped, never affecting a shopper's response.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

FLUSH_DELAY_SECONDS: Final = 0.5
MAX_BUFFER: Final = 5_000

# One statement per flush whatever the number of entries (an executemany is one statement per row).
_INSERT = text(
    "INSERT INTO search_queries (query, filters, sort, result_count, latency_ms, cached) "
    "SELECT * FROM unnest(CAST(:query AS text[]), CAST(:filters AS jsonb[]), CAST(:sort AS text[]), "
    "CAST(:result_count AS integer[]), CAST(:latency_ms AS double precision[]), CAST(:cached AS boolean[]))"
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
    applied_rules: tuple[int, ...] = ()
    search_key_id: int | None = None


def columns(entries: list[SearchRecord]) -> dict[str, list[Any]]:
    """The entries as one array per column: the parameters of `_INSERT`."""
    return {
        "query": [e.query for e in entries],
        "filters": [json.dumps(e.filters) for e in entries],
        "sort": [e.sort for e in entries],
        "result_count": [e.result_count for e in entries],
        "latency_ms": [round(e.latency_ms, 2) for e in entries],
        "cached": [e.cached for e in entries],
    }


@dataclass
class AnalyticsRecorder:
    sessions: async_sessionmaker[AsyncSession]
    _buffer: list[SearchRecord] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def record(self, entry: SearchRecord) -> None:
        """Queue an entry; never raises, never waits."""
        if len(self._buffer) >= MAX_BUFFER:
            return  # the database is not keeping up; analytics are best effort
        self._buffer.append(entry)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_DELAY_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        entries, self._buffer = self._buffer, []
        if not entries:
            return
        try:
            async with self.sessions() as session, session.begin():
                await session.execute(_INSERT, columns(entries))
        except Exception:  # analytics must never take search down; the cause is logged
            log.exception("could not record %d search analytics entries", len(entries))
