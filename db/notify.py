"""Waking async workers with PostgreSQL LISTEN/NOTIFY (polling stays their fallback)."""

from __future__ import annotations

import asyncio
import logging

import psycopg

log = logging.getLogger("catalog.notify")


async def listen(dsn: str, channel: str, wake: asyncio.Event, stop: asyncio.Event, retry_seconds: float) -> None:
    """Set `wake` on every NOTIFY on `channel` until `stop`; a lost connection is reopened after `retry_seconds`."""
    while not stop.is_set():
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                await conn.execute(f"LISTEN {channel}")
                async for _ in conn.notifies():
                    wake.set()
        except psycopg.Error as exc:
            log.warning("LISTEN %s lost, polling meanwhile: %s", channel, exc)
            await asyncio.sleep(retry_seconds)
