"""Engines and sessions: async for the API, sync for commands, the indexer and the dashboard."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache

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

