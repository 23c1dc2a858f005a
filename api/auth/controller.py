"""`POST /auth/token`: the OAuth2 password grant, answering a bearer access token."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.status_codes import HTTP_200_OK
from msgspec import Struct
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth.security import KNOWN_SCOPES, issue_token, scopes_for
from api.openapi import error_responses
from api.users import service
from api.users.schemas import Token
from catalog.errors import InvalidInput, Unauthorized
from catalog.settings import Settings


class PasswordForm(Struct):
    username: str
    password: str
    grant_type: str | None = None
    scope: str | None = None


def _requested_scopes(scope: str | None) -> set[str] | None:
    """The scopes the form asks for (RFC 6749 section 3.3), None when it asks for none: then the token gets all
    its roles allow. A scope this API does not know is a 400 naming it, not silently dropped."""
    asked = set((scope or "").split())
    unknown = sorted(asked - set(KNOWN_SCOPES))
    if unknown:
        raise InvalidInput(
            f"Unknown scope: {' '.join(unknown)}. Known scopes: {' '.join(KNOWN_SCOPES)}.",
            {"fields": {"scope": f"unknown: {' '.join(unknown)}"}},
            code="INVALID_SCOPE",
        )
    return asked or None


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post(
        "/token",
        summary="Get an access token (OAuth2 password form)",
        security=[{}],
        status_code=HTTP_200_OK,
        responses=error_responses(400, 401, 429),
    )
    async def token(
        self,
        data: Annotated[PasswordForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
    ) -> Token:
        """`username` is the email. Wrong email and wrong password get the same answer, in the same time.
        `scope` (optional, space-separated) narrows the token to some of `user:read user:write`."""
        requested = _requested_scopes(data.scope)
        async with sessions() as session:
            user = await service.authenticate(session, data.username, data.password)
        if user is None:
            raise Unauthorized(
                "Incorrect email or password.", code="INVALID_CREDENTIALS", headers={"WWW-Authenticate": "Bearer"}
            )
        roles = list(user.roles)
        scopes = [s for s in scopes_for(roles) if requested is None or s in requested]
        return Token(
            access_token=issue_token(settings, user.id, roles, scopes),
            token_type="bearer",
            expires_in=settings.jwt_ttl_seconds,
            scope=" ".join(scopes) if requested is not None else None,
        )
