"""Request and response schemas for users."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType

from db.models import Role, UserStatus

Email = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Password = Annotated[str, Meta(min_length=8, max_length=128, description="At least 8 characters.")]
PersonName = Annotated[str, Meta(max_length=100)]


class UserCreate(Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    first_name: PersonName = ""
    last_name: PersonName = ""


class UserUpdate(Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Fields left out keep their value; only admins may change roles or status."""

    email: Email | UnsetType = UNSET
    password: Password | UnsetType = UNSET
    first_name: PersonName | UnsetType = UNSET
    last_name: PersonName | UnsetType = UNSET
    roles: list[Role] | UnsetType = UNSET
    status: UserStatus | UnsetType = UNSET


class UserRead(Struct):
    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    roles: list[str]
    status: str
    created_at: datetime
    updated_at: datetime


class Token(Struct, omit_defaults=True):
    """SPEC.md's `{access_token, token_type, expires_in}`; `scope` (space-separated, as granted) only when the
    form asked for one (RFC 6749 section 5.1). The token's own `scope` claim always names them."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str | None = None
