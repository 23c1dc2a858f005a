"""Route guards: authenticate the bearer token, then check the caller's roles or the token's scopes.

Guards run before path and body parsing, so an anonymous call gets 401 whatever else is wrong with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.auth.security import InvalidToken, Principal, decode_token
from catalog.errors import Forbidden, Unauthorized
from db.models import Role

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]

CATALOG_READERS = {Role.ADMIN, Role.MERCHANDISER, Role.ANALYST}
CATALOG_WRITERS = {Role.ADMIN, Role.MERCHANDISER}
ADMINS = {Role.ADMIN}


def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    cached = connection.scope.get("state", {}).get("principal")
    if isinstance(cached, Principal):
        return cached
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Send `Authorization: Bearer <token>`; get a token from POST /auth/token.")
    try:
        principal = decode_token(connection.app.state.settings, token.strip())
    except InvalidToken:
        raise Unauthorized(
            "The access token is invalid or expired; get a new one from POST /auth/token.", code="INVALID_TOKEN"
        ) from None
    connection.scope.setdefault("state", {})["principal"] = principal
    return principal


def authenticated(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    authenticate(connection)


def requires(roles: set[Role]) -> Guard:
    allowed = ", ".join(sorted(r.value for r in roles))

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not authenticate(connection).has_any(roles):
            raise Forbidden(f"This needs one of the roles: {allowed}.", {"required_roles": sorted(allowed.split(", "))})

    return guard


def requires_scope(scope: str) -> Guard:
    """403 `INSUFFICIENT_SCOPE` (RFC 6750's `insufficient_scope`) unless the token carries `scope`."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = authenticate(connection)
        if not principal.has_scope(scope):
            raise Forbidden(
                f"This needs a token with the scope `{scope}`; ask POST /auth/token for it.",
                {"required_scope": scope, "token_scopes": sorted(principal.scopes)},
                code="INSUFFICIENT_SCOPE",
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            )

    return guard


def principal_from_scope(request: Request[Any, Any, Any]) -> Principal:
    """Dependency: the principal a guard already authenticated."""
    return authenticate(request)
