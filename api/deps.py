"""Dependencies shared by the controllers: the settings, the session factory and the caller."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import principal_from_scope
from catalog.settings import Settings


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def provide_sessions(state: State) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = state.sessions
    return factory


DEPENDENCIES: dict[str, Any] = {
    "settings": Provide(provide_settings, sync_to_thread=False),
    "sessions": Provide(provide_sessions, sync_to_thread=False),
    "principal": Provide(principal_from_scope, sync_to_thread=False),
}
