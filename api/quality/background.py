"""Background quality work while the API runs: re-scoring after rule changes and the daily snapshot.

Both run the engine's sync functions in worker threads, so the event loop never waits on them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import date, datetime, timedelta

from litestar import Litestar

from catalog.settings import get_settings
from db import quality
from db.session import sync_engine

log = logging.getLogger("catalog.quality")

SNAPSHOT_AT = timedelta(minutes=5)
"""Time after local midnight when the day's snapshot is taken."""
RETRY_AFTER = 300.0
"""Seconds before retrying a failed snapshot."""
SHUTDOWN_GRACE = 30.0
"""Seconds shutdown waits for re-scoring already under way (a thread cannot be cancelled)."""

_recomputes: set[asyncio.Task[None]] = set()


# --- re-scoring after a rule change ---------------------------------------------------------------------------


async def _recompute(database_url: str, category_ids: list[int | None]) -> None:
    try:
        changed = await asyncio.to_thread(quality.recompute_for_categories, sync_engine(database_url), category_ids)
    except Exception:  # the rule change is committed; `catalog quality recompute` repairs stale scores
        log.exception("quality recompute failed for categories %s", category_ids)
        return
    log.info("quality recompute for categories %s: %d products changed", category_ids, changed)


def schedule_recompute(database_url: str, category_ids: Sequence[int | None]) -> None:
    """Re-score the products under these categories (None: every product) in the background."""
    task = asyncio.create_task(_recompute(database_url, list(category_ids)), name="quality-recompute")
    _recomputes.add(task)  # the loop keeps only weak references to tasks
    task.add_done_callback(_recomputes.discard)


async def wait_for_recomputes(timeout: float) -> bool:
    """Wait for the re-scoring under way; False if some is still running after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    ours = {task for task in _recomputes if task.get_loop() is loop}  # a test client runs two loops
    if not ours:
        return True
    _, still_running = await asyncio.wait(ours, timeout=timeout)
    return not still_running


# --- the daily snapshot ---------------------------------------------------------------------------------------


def seconds_until_next_snapshot(now: datetime) -> float:
    """Seconds from `now` to SNAPSHOT_AT after the next local midnight."""
    next_run = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo) + SNAPSHOT_AT
    return max((next_run - now).total_seconds(), 1.0)


def snapshot_if_missing(database_url: str, day: date) -> bool:
    """Take `day`'s snapshot unless it exists. Every API worker runs this loop; the advisory lock makes one of
    them take it while the others skip (they find it taken the next time round)."""
    engine = sync_engine(database_url)
    with engine.begin() as guard:  # the lock is held until the snapshot is written
        if not quality.try_snapshot_lock(guard) or quality.has_snapshot(guard, day):
            return False
        rows = quality.take_snapshot(engine, day)
    log.info("quality snapshot for %s: %d rows", day, rows)
    return True


async def snapshot_loop(database_url: str) -> None:
    """Today's snapshot now if missing, then one a day; failures are logged and retried, never raised."""
    while True:
        try:
            await asyncio.to_thread(snapshot_if_missing, database_url, date.today())
            delay = seconds_until_next_snapshot(datetime.now())
        except Exception:
            log.exception("quality snapshot failed; retrying in %.0f s", RETRY_AFTER)
            delay = RETRY_AFTER
        await asyncio.sleep(delay)


@asynccontextmanager
async def quality_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Runs the daily snapshot task while the app runs; on shutdown cancels it and lets re-scoring finish."""
    settings = getattr(app.state, "settings", None) or get_settings()
    task = asyncio.create_task(snapshot_loop(settings.database_url), name="quality-snapshots")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        if not await wait_for_recomputes(SHUTDOWN_GRACE):
            log.warning("shutting down with quality recompute still running; run `catalog quality recompute`")
