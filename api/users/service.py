"""User persistence and the rules on it: registration, lookup, updates, who may change what, credential checks."""

from __future__ import annotations

import uuid
from typing import Any

from msgspec import UNSET
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from api.auth.security import Principal, hash_password, verify_password
from api.users.schemas import UserCreate, UserRead, UserUpdate
from catalog.errors import Conflict, Forbidden, NotFound
from db.models import Role, User, UserStatus


def to_read(user: User) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        roles=list(user.roles),
        status=user.status,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def ensure_self_or_admin(principal: Principal, user_id: uuid.UUID | None) -> None:
    """Profiles are read and changed by their owner or an admin (`None`: an id that can be nobody's)."""
    if principal.user_id != user_id and not principal.is_admin:
        raise Forbidden("You can only see and change your own account.")


def ensure_may_change(principal: Principal, data: UserUpdate) -> None:
    """Only an admin changes roles or status (an owner could otherwise promote or re-enable themselves)."""
    if not principal.is_admin and (data.roles is not UNSET or data.status is not UNSET):
        raise Forbidden(
            "Only an admin can change roles or status.", {"fields": {"roles": "admin only", "status": "admin only"}}
        )


def _email_taken(email: str) -> Conflict:
    return Conflict("This email is already registered.", {"fields": {"email": email}}, code="EMAIL_ALREADY_REGISTERED")


async def create_user(session: AsyncSession, data: UserCreate, roles: list[str] | None = None) -> User:
    user = User(
        email=data.email.strip(),
        password_hash=hash_password(data.password),
        first_name=data.first_name,
        last_name=data.last_name,
        roles=roles or [Role.CUSTOMER.value],
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise _email_taken(data.email) from None
    await session.refresh(user)
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False) -> User:
    query = select(User).where(col(User.id) == user_id)
    user = (await session.execute(query.with_for_update() if for_update else query)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"User {user_id} does not exist.", {"user_id": str(user_id)}, code="USER_NOT_FOUND")
    return user


async def list_users(session: AsyncSession, skip: int, limit: int) -> list[User]:
    return list(
        (await session.execute(select(User).order_by(col(User.created_at), col(User.id)).offset(skip).limit(limit)))
        .scalars()
        .all()
    )


async def update_user(session: AsyncSession, user_id: uuid.UUID, data: UserUpdate) -> User:
    user = await get_user(session, user_id, for_update=True)
    changes: dict[str, Any] = {
        name: getattr(data, name) for name in ("email", "first_name", "last_name") if getattr(data, name) is not UNSET
    }
    if data.status is not UNSET:
        changes["status"] = UserStatus(data.status).value
    if data.roles is not UNSET:
        changes["roles"] = sorted({Role(role).value for role in data.roles})
    if data.password is not UNSET:
        changes["password_hash"] = hash_password(data.password)
    for name, value in changes.items():
        setattr(user, name, value)
    if changes:
        user.updated_at = func.now()  # type: ignore[assignment]
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:
            raise _email_taken(str(changes.get("email"))) from None
        await session.refresh(user)
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    """The user when the credentials are right and the account active; None otherwise (same cost)."""
    user = (
        await session.execute(select(User).where(func.lower(User.email) == email.strip().lower()))
    ).scalar_one_or_none()
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is None or not password_ok or user.status != UserStatus.ACTIVE.value:
        return None
    return user
