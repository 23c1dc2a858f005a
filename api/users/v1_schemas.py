"""The design document's user service bodies (`/v1/users`): camelCase names, `active`/`inactive`, and the one
place they are mapped to and from the users service's own schemas.

The Python attributes are the service's names (`first_name`, ...); `rename="camel"` makes them the document's
(`firstName`, ...) on the wire, so a snake_case name sent to `/v1/users` is an unknown field (400 naming it).
The document calls a disabled account `inactive`; the table and `/users` say `disabled`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from msgspec import UNSET, Struct, UnsetType

from api.users.schemas import Email, Password, PersonName, UserCreate, UserUpdate
from db.models import Role, User, UserStatus

DocumentStatus = Literal["active", "inactive"]
_STATUS_TO_DOCUMENT: dict[str, DocumentStatus] = {
    UserStatus.ACTIVE.value: "active",
    UserStatus.DISABLED.value: "inactive",
}
_STATUS_FROM_DOCUMENT = {document: UserStatus(stored) for stored, document in _STATUS_TO_DOCUMENT.items()}


class V1UserCreate(Struct, forbid_unknown_fields=True, rename="camel"):
    """Registration, as the document's example: `{"email", "password", "firstName", "lastName"}`."""

    email: Email
    password: Password
    first_name: PersonName = ""
    last_name: PersonName = ""


class V1UserUpdate(Struct, forbid_unknown_fields=True, rename="camel"):
    """Fields left out keep their value; only admins may change `roles` or `status`."""

    email: Email | UnsetType = UNSET
    password: Password | UnsetType = UNSET
    first_name: PersonName | UnsetType = UNSET
    last_name: PersonName | UnsetType = UNSET
    status: DocumentStatus | UnsetType = UNSET
    roles: list[Role] | UnsetType = UNSET


class V1UserCreated(Struct, rename="camel"):
    """The 201 body of a registration."""

    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    created_at: datetime


class V1User(Struct, rename="camel"):
    """A profile, as `GET` and `PATCH /v1/users/{userId}` answer it."""

    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    status: DocumentStatus
    roles: list[str]
    created_at: datetime
    updated_at: datetime


class V1UserNotFound(Struct):
    """The document's 404 body: `{"code": "USER_NOT_FOUND", "message": "User with ID '<userId>' not found."}`."""

    code: str
    message: str


def to_create(data: V1UserCreate) -> UserCreate:
    return UserCreate(email=data.email, password=data.password, first_name=data.first_name, last_name=data.last_name)


def to_update(data: V1UserUpdate) -> UserUpdate:
    return UserUpdate(
        email=data.email,
        password=data.password,
        first_name=data.first_name,
        last_name=data.last_name,
        status=UNSET if isinstance(data.status, UnsetType) else _STATUS_FROM_DOCUMENT[data.status],
        roles=data.roles,
    )


def _timestamp(value: datetime) -> datetime:
    """UTC to the second, as the document writes them (`2023-10-26T10:00:00Z`)."""
    return value.astimezone(UTC).replace(microsecond=0)


def to_created(user: User) -> V1UserCreated:
    return V1UserCreated(
        id=user.id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        created_at=_timestamp(user.created_at),
    )


def to_document(user: User) -> V1User:
    return V1User(
        id=user.id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        status=_STATUS_TO_DOCUMENT[user.status],
        roles=list(user.roles),
        created_at=_timestamp(user.created_at),
        updated_at=_timestamp(user.updated_at),
    )
