"""HTTP routes for users: register, read and update (self or admin), list (admin)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import ADMINS, requires, requires_scope
from api.auth.security import USER_READ, USER_WRITE, Principal
from api.openapi import error_responses
from api.users import service
from api.users.schemas import UserCreate, UserRead, UserUpdate
from db.session import transaction


class UserController(Controller):
    path = "/users"
    tags = ["users"]

    @post("/", summary="Register", security=[{}], responses=error_responses(400, 409))
    async def register(self, data: UserCreate, sessions: async_sessionmaker[AsyncSession]) -> UserRead:
        """Self-registration; the new account has the default role, which reads and writes no catalog data."""
        async with transaction(sessions) as session:
            return service.to_read(await service.create_user(session, data))

    @get(
        "/",
        summary="List users (admin)",
        guards=[requires(ADMINS), requires_scope(USER_READ)],
        responses=error_responses(401, 403),
    )
    async def list_users(
        self,
        sessions: async_sessionmaker[AsyncSession],
        skip: Annotated[int, Parameter(ge=0)] = 0,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    ) -> list[UserRead]:
        async with sessions() as session:
            return [service.to_read(u) for u in await service.list_users(session, skip, limit)]

    @get(
        "/{user_id:uuid}",
        summary="Read a user (self or admin; scope user:read)",
        guards=[requires_scope(USER_READ)],
        responses=error_responses(401, 403, 404),
    )
    async def get_user(
        self, user_id: uuid.UUID, sessions: async_sessionmaker[AsyncSession], principal: Principal
    ) -> UserRead:
        service.ensure_self_or_admin(principal, user_id)
        async with sessions() as session:
            return service.to_read(await service.get_user(session, user_id))

    @patch(
        "/{user_id:uuid}",
        summary="Update a user (self or admin; roles and status: admin only; scope user:write)",
        guards=[requires_scope(USER_WRITE)],
        responses=error_responses(400, 401, 403, 404, 409),
    )
    async def update_user(
        self, user_id: uuid.UUID, data: UserUpdate, sessions: async_sessionmaker[AsyncSession], principal: Principal
    ) -> UserRead:
        service.ensure_self_or_admin(principal, user_id)
        service.ensure_may_change(principal, data)
        async with transaction(sessions, principal.user_id) as session:
            return service.to_read(await service.update_user(session, user_id, data))
