"""HTTP route of the change feed."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import CATALOG_READERS, requires
from api.changes import service
from api.changes.schemas import ChangePage
from api.openapi import error_responses

MAX_LIMIT = 1000
MAX_WAIT = 30.0


class ChangeController(Controller):
    path = "/changes"
    tags = ["integrations"]
    guards = [requires(CATALOG_READERS)]

    @get(
        "/", summary="Committed changes in commit order (long-poll with wait)", responses=error_responses(401, 403, 410)
    )
    async def list_changes(
        self,
        sessions: async_sessionmaker[AsyncSession],
        after: Annotated[str | None, Parameter(max_length=40, description="a cursor, or `latest`")] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = 100,
        wait: Annotated[float, Parameter(ge=0, le=MAX_WAIT, description="seconds to wait for a change")] = 0,
    ) -> ChangePage:
        """Each change has its cursor; pass the page's `next_cursor` as `after` for the next page. Without
        `after`, the feed starts at the oldest change still retained; `after=latest` starts from now."""
        return await service.changes_after(sessions, after, limit, wait)
