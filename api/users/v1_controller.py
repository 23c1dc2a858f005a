"""`/v1/users`: the design document's user service (register, read, update) with its bodies and error bodies,
served by the same users service as `/users`; reads need the `user:read` scope, changes `user:write`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import ResponseHeader
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.status_codes import HTTP_201_CREATED, HTTP_403_FORBIDDEN, HTTP_404_NOT_FOUND
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.guards import requires_scope
from api.auth.security import USER_READ, USER_WRITE, Principal
from api.openapi import error_responses
from api.users import service
from api.users.v1_schemas import (
    V1User,
    V1UserCreate,
    V1UserCreated,
    V1UserNotFound,
    V1UserUpdate,
    to_create,
    to_created,
    to_document,
    to_update,
)
from catalog.errors import CatalogError, Conflict, NotFound
from catalog.field_types import ErrorBody
from db.session import transaction

EMAIL_TAKEN = "The provided email is already registered."


def _not_found(user_id: str) -> NotFound:
    return NotFound(f"User with ID '{user_id}' not found.", code="USER_NOT_FOUND")


@contextmanager
def _document_errors(user_id: str = "") -> Iterator[None]:
    """The service's duplicate-email and unknown-user errors, in the document's words."""
    try:
        yield
    except CatalogError as exc:
        if exc.code == "EMAIL_ALREADY_REGISTERED":
            raise Conflict(EMAIL_TAKEN, {"field": "email"}, code=exc.code) from None
        if exc.code == "USER_NOT_FOUND":
            raise _not_found(user_id) from None
        raise


def _parse_id(user_id: str) -> uuid.UUID | None:
    """The id as a UUID; None for text that cannot be anyone's id (answered like an unknown id)."""
    try:
        return uuid.UUID(user_id)
    except ValueError:
        return None


def _document_not_found(_: Request[Any, Any, Any], exc: NotFound) -> Response[dict[str, Any]]:
    """The document's 404 body is `{code, message}`, without the `details` the rest of the API adds."""
    return Response({"code": exc.code, "message": exc.message}, status_code=HTTP_404_NOT_FOUND)


def _responses(*statuses: int) -> dict[int, ResponseSpec]:
    documented = error_responses(*(status for status in statuses if status != HTTP_404_NOT_FOUND))
    if HTTP_403_FORBIDDEN in statuses:
        documented[HTTP_403_FORBIDDEN] = ResponseSpec(
            data_container=ErrorBody,
            description="`INSUFFICIENT_SCOPE`: the token lacks the scope; `FORBIDDEN`: someone else's profile "
            "(only an admin reaches those), or a status or roles change by a non-admin.",
        )
    if HTTP_404_NOT_FOUND in statuses:
        documented[HTTP_404_NOT_FOUND] = ResponseSpec(
            data_container=V1UserNotFound,
            description="No user has this ID (the design document's body: no `details`).",
            generate_examples=False,
            examples=[Example(value={"code": "USER_NOT_FOUND", "message": "User with ID 'uuid-of-user' not found."})],
        )
    return dict(sorted(documented.items()))


class V1UserController(Controller):
    path = "/v1/users"
    tags = ["users v1 (design document)"]
    exception_handlers = {NotFound: _document_not_found}

    @post(
        "/",
        summary="Create new user (registration)",
        security=[{}],
        responses=_responses(400, 409),
        response_headers=[ResponseHeader(name="Location", description="/v1/users/{id}", documentation_only=True)],
    )
    async def register(self, data: V1UserCreate, sessions: async_sessionmaker[AsyncSession]) -> Response[V1UserCreated]:
        """The new account has the default role (`customer`); a registered email is 409 `EMAIL_ALREADY_REGISTERED`."""
        with _document_errors():
            async with transaction(sessions) as session:
                created = to_created(await service.create_user(session, to_create(data)))
        return Response(created, status_code=HTTP_201_CREATED, headers={"Location": f"/v1/users/{created.id}"})

    @get(
        "/{user_id:str}",
        summary="Get user profile (own, or any as admin; scope user:read)",
        guards=[requires_scope(USER_READ)],
        responses=_responses(401, 403, 404),
    )
    async def get_user(self, user_id: str, sessions: async_sessionmaker[AsyncSession], principal: Principal) -> V1User:
        target = _parse_id(user_id)
        service.ensure_self_or_admin(principal, target)
        if target is None:
            raise _not_found(user_id)
        with _document_errors(user_id):
            async with sessions() as session:
                return to_document(await service.get_user(session, target))

    @patch(
        "/{user_id:str}",
        summary="Update user profile (own, or any as admin; status and roles: admin only; scope user:write)",
        guards=[requires_scope(USER_WRITE)],
        responses=_responses(400, 401, 403, 404, 409),
    )
    async def update_user(
        self, user_id: str, data: V1UserUpdate, sessions: async_sessionmaker[AsyncSession], principal: Principal
    ) -> V1User:
        """Fields left out keep their value; `status` is `active` or `inactive` (an inactive user cannot log in)."""
        target, changes = _parse_id(user_id), to_update(data)
        service.ensure_self_or_admin(principal, target)
        service.ensure_may_change(principal, changes)
        if target is None:
            raise _not_found(user_id)
        with _document_errors(user_id):
            async with transaction(sessions, principal.user_id) as session:
                return to_document(await service.update_user(session, target, changes))
