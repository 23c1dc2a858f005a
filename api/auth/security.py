"""Password hashing (argon2id) and JWT access tokens with expiry, issuer and audience checks, roles and scopes.

Scopes (the OAuth2 `scope` claim, space-separated) say what a token may do to user profiles, as the design
document's user service names them: `user:read` reads a profile, `user:write` changes one; whose profile is
still decided by ownership or the admin role. Every role gets both (a user always manages their own profile;
an admin's reach over other profiles comes from the role). The catalog routes are governed by roles alone.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
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


USER_READ = "user:read"
USER_WRITE = "user:write"
KNOWN_SCOPES = (USER_READ, USER_WRITE)


def scopes_for(roles: Iterable[str]) -> list[str]:
    """The scopes a user with these roles may hold: both user scopes for every role (see the module docstring)."""
    known = {role.value for role in Role}
    return [USER_READ, USER_WRITE] if any(role in known for role in roles) else []


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as carried by a valid access token."""

    user_id: uuid.UUID
    roles: frozenset[str]
    scopes: frozenset[str]

    def has_any(self, roles: set[Role]) -> bool:
        return bool(self.roles & {r.value for r in roles})

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN.value in self.roles


def issue_token(settings: Settings, user_id: uuid.UUID, roles: list[str], scopes: Iterable[str] | None = None) -> str:
    """A signed access token; `scopes` defaults to everything the roles allow (`scopes_for`)."""
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "roles": roles,
        "scope": " ".join(scopes_for(roles) if scopes is None else scopes),
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
        roles = frozenset(claims.get("roles") or [])
        return Principal(user_id=uuid.UUID(claims["sub"]), roles=roles, scopes=_token_scopes(claims, roles))
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc


def _token_scopes(claims: dict[str, object], roles: frozenset[str]) -> frozenset[str]:
    """The `scope` claim; a token issued before scopes existed has none and holds what its roles allow, which is
    what a token issued now for the same roles holds (such tokens are all gone one TTL after the upgrade)."""
    if "scope" not in claims:
        return frozenset(scopes_for(roles))
    scope = claims["scope"]
    if not isinstance(scope, str):
        raise InvalidToken("the scope claim must be a space-separated string")
    return frozenset(scope.split())
