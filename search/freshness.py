"""Read-your-writes: wait (bounded) until the change a write returned is searchable.

The indexer sets `outbox.processed_at` only once OpenSearch acknowledged and refreshed the batch, so a
change is searchable when its row is processed, or gone (only processed rows are pruned).
"""

from __future__ import annotations

import asyncio
import time
from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.outbox import CHANGE_SEARCHABLE_SQL

WAIT_BOUND_SECONDS: Final = 2.0
FIRST_POLL_SECONDS: Final = 0.02
MAX_POLL_SECONDS: Final = 0.1

_SEARCHABLE = text(CHANGE_SEARCHABLE_SQL)


async def is_searchable(session: AsyncSession, change_id: int) -> bool:
    return bool((await session.execute(_SEARCHABLE, {"change": change_id})).scalar())


async def wait_until_searchable(sessions: async_sessionmaker[AsyncSession], change_id: int,
                                bound: float = WAIT_BOUND_SECONDS) -> bool:
    """True once the change is searchable; False when `bound` seconds pass first."""
    deadline = time.monotonic() + bound
    delay = FIRST_POLL_SECONDS
    async with sessions() as session:
        while True:
            if await is_searchable(session, change_id):
                return True
            await session.rollback()  # a fresh snapshot for the next poll, not a long transaction
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_POLL_SECONDS)
