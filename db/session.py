"""Engines and sessions: async for the API, sync for commands, the indexer and the dashboard.

Read-only analytics (the dashboard) ask `read_source` where to read: the read server of the CATALOG_POSTGRES_READ_*
settings (the stack's replica) when it answers, else the primary. Writes and read-your-writes stay on the primary.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache

import psycopg
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from catalog.settings import Settings, get_settings


def make_async_engine(settings: Settings) -> AsyncEngine:
    return create_async_engine(
        settings.database_url,
        pool_size=settings.postgres_pool_size,
        max_overflow=settings.postgres_pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


@lru_cache(maxsize=4)
def sync_engine(database_url: str | None = None) -> Engine:
    settings = get_settings()
    return create_engine(database_url or settings.database_url, pool_size=5, max_overflow=5, pool_pre_ping=True)


@dataclass(frozen=True)
class ReadSource:
    """Where read-only analytics read right now."""

    url: str
    """SQLAlchemy URL to read from."""
    address: str
    """host:port of that server."""
    on_replica: bool
    """Reading from the read server (a replica, which may lag), not the primary."""
    fallback: str | None = None
    """Set when a read server is configured but did not answer, so reads went to the primary: says why."""


def read_source(settings: Settings) -> ReadSource:
    """The read server when one is configured and answers within its connect timeout, else the primary."""
    primary = f"{settings.postgres_host}:{settings.postgres_port}"
    if not settings.reads_elsewhere:
        return ReadSource(settings.database_url, primary, on_replica=False)
    host, port = settings.read_address
    try:
        with psycopg.connect(settings.read_dsn) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ReadSource(
            settings.database_url,
            primary,
            on_replica=False,
            fallback=f"The read replica at {host}:{port} is not answering ({reason}); reading from the primary at "
            f"{primary} instead. Start it with `catalog stack up` (CATALOG_POSTGRES_REPLICA=true), or unset "
            "CATALOG_POSTGRES_READ_* to read the primary on purpose.",
        )
    return ReadSource(settings.read_database_url, f"{host}:{port}", on_replica=True)


def async_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def set_actor(session: AsyncSession, actor: uuid.UUID | None) -> None:
    """Name the acting user for the audit/price-history triggers, for this transaction only."""
    if actor is not None:
        await session.execute(text("SELECT set_config('catalog.actor', :actor, true)"), {"actor": str(actor)})


@asynccontextmanager
async def transaction(
    factory: async_sessionmaker[AsyncSession], actor: uuid.UUID | None = None
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on any exception."""
    async with factory() as session, session.begin():
        await set_actor(session, actor)
        yield session
