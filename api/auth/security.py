"""Password hashing (argon2id) and JWT access tokens with expiry, issuer and audience checks."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from catalog.settings import Settings
from db.models import Role

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login takes as long whether or not the user exists.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as carried by a valid access token."""

    user_id: uuid.UUID
    roles: frozenset[str]

    def has_any(self, roles: set[Role]) -> bool:
        return bool(self.roles & {r.value for r in roles})

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN.value in self.roles


def issue_token(settings: Settings, user_id: uuid.UUID, roles: list[str]) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "roles": roles,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + settings.jwt_ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


class InvalidToken(Exception):
    pass


def decode_token(settings: Settings, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=["HS256"],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
        return Principal(user_id=uuid.UUID(claims["sub"]), roles=frozenset(claims.get("roles") or []))
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise InvalidToken(str(exc)) from exc
