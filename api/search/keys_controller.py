"""HTTP routes: scoped search keys, managed by admins (`X-Search-Key` on /search and /search/suggest uses them)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import ADMINS, requires
from api.auth.security import Principal
from api.openapi import error_responses
from api.search import keys
from api.search.keys import SearchKeyCreate, SearchKeyCreated, SearchKeyRead
from db.session import transaction


class SearchKeyController(Controller):
    path = "/search/keys"
    tags = ["search"]
    guards = [requires(ADMINS)]

    @post("/", summary="Create a scoped search key (the secret is shown once)", status_code=HTTP_201_CREATED,
          responses=error_responses(400, 401, 403))
    async def create_key(self, data: SearchKeyCreate, sessions: async_sessionmaker[AsyncSession],
                         principal: Principal) -> SearchKeyCreated:
        """`{"description": "Phones shop", "filter": {"category": "electronics/phones", "brand": ["Apple",
        "Samsung"]}, "rate_limit_per_minute": 600}`: searches with this key see only those products (a shopper's
        own filters narrow them further, never widen them)."""
        async with transaction(sessions, principal.user_id) as session:
            return await keys.create_key(session, data, principal.user_id)

    @get("/", summary="List search keys (prefixes only, never the secrets)", responses=error_responses(401, 403))
    async def list_keys(self, sessions: async_sessionmaker[AsyncSession]) -> list[SearchKeyRead]:
        async with sessions() as session:
            return await keys.list_keys(session)

    @delete("/{key_id:int}", summary="Revoke a search key", status_code=HTTP_204_NO_CONTENT,
            responses=error_responses(204, 401, 403, 404))
    async def revoke_key(self, key_id: int, request: Request[Any, Any, Any],
                         sessions: async_sessionmaker[AsyncSession], principal: Principal) -> None:
        """Refused at once by this process, within a few seconds (`api.search.keys.KEY_TTL`) by every other."""
        async with transaction(sessions, principal.user_id) as session:
            await keys.revoke_key(session, key_id)
        keys.store(request.app.state).forget(key_id)
