"""Users and tokens per the API contract: register, read/update self or admin, OAuth2 password login."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
from litestar import Litestar
from litestar.testing import AsyncTestClient

from catalog.settings import Settings
from tests.helpers.run import TEST_PASSWORD

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


async def register(client: Client, unique: str, **extra: Any) -> dict[str, Any]:
    body = {"email": f"shopper-{unique}@example.com", "password": "s3cret-pass", "first_name": "Ann", **extra}
    response = await client.post("/users", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def login(client: Client, email: str, password: str) -> Any:
    return await client.post("/auth/token", data={"username": email, "password": password})


async def test_register_gives_the_default_role_and_hides_the_password(client: Client, unique: str) -> None:
    user = await register(client, unique)
    assert user["roles"] == ["customer"]
    assert user["status"] == "active"
    assert "password" not in user and "password_hash" not in user
    uuid.UUID(user["id"])


async def test_duplicate_email_is_409_case_insensitively(client: Client, unique: str) -> None:
    await register(client, unique)
    response = await client.post("/users", json={"email": f"SHOPPER-{unique}@example.com", "password": "another-1"})
    assert response.status_code == 409
    assert response.json()["code"] == "EMAIL_ALREADY_REGISTERED"


async def test_registration_validates_email_and_password(client: Client) -> None:
    response = await client.post("/users", json={"email": "not-an-email", "password": "short"})
    assert response.status_code == 400
    assert set(response.json()["details"]["fields"]) >= {"$.email"} or "email" in str(response.json()["details"])


async def test_token_login_and_use(client: Client, unique: str, settings: Settings) -> None:
    user = await register(client, unique)
    response = await login(client, user["email"], "s3cret-pass")
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "bearer" and token["expires_in"] == settings.jwt_ttl_seconds
    claims = jwt.decode(
        token["access_token"],
        settings.jwt_secret,
        algorithms=["HS256"],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    assert claims["sub"] == user["id"]
    me = await client.get(f"/users/{user['id']}", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == user["email"]


async def test_login_does_not_reveal_whether_the_email_exists(client: Client, unique: str) -> None:
    user = await register(client, unique)
    wrong_password = await login(client, user["email"], "wrong-password")
    unknown_email = await login(client, f"nobody-{unique}@example.com", "wrong-password")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()


async def test_expired_or_foreign_tokens_are_rejected(
    client: Client, settings: Settings, users_by_role: dict[str, uuid.UUID]
) -> None:
    now = int(time.time())
    base = {"sub": str(users_by_role["admin"]), "roles": ["admin"], "iat": now - 7200, "nbf": now - 7200}
    expired = jwt.encode(
        {**base, "exp": now - 3600, "iss": settings.jwt_issuer, "aud": settings.jwt_audience},
        settings.jwt_secret,
        algorithm="HS256",
    )
    wrong_audience = jwt.encode(
        {**base, "exp": now + 3600, "iss": settings.jwt_issuer, "aud": "someone-else"},
        settings.jwt_secret,
        algorithm="HS256",
    )
    wrong_key = jwt.encode(
        {**base, "exp": now + 3600, "iss": settings.jwt_issuer, "aud": settings.jwt_audience},
        "another-secret-another-secret-another",
        algorithm="HS256",
    )
    for token in (expired, wrong_audience, wrong_key):
        response = await client.get("/products", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["code"] == "INVALID_TOKEN"


async def test_users_read_and_update_only_themselves_unless_admin(
    client: Client, unique: str, auth_headers: Headers
) -> None:
    user = await register(client, unique)
    other = await register(client, unique + "b")
    token = (await login(client, user["email"], "s3cret-pass")).json()["access_token"]
    mine = {"Authorization": f"Bearer {token}"}
    assert (await client.get(f"/users/{other['id']}", headers=mine)).status_code == 403
    renamed = await client.patch(f"/users/{user['id']}", json={"first_name": "Anna"}, headers=mine)
    assert renamed.status_code == 200 and renamed.json()["first_name"] == "Anna"
    escalate = await client.patch(f"/users/{user['id']}", json={"roles": ["admin"]}, headers=mine)
    assert escalate.status_code == 403
    promoted = await client.patch(
        f"/users/{user['id']}", json={"roles": ["merchandiser"]}, headers=auth_headers("admin")
    )
    assert promoted.json()["roles"] == ["merchandiser"]
    missing = await client.get(f"/users/{uuid.uuid4()}", headers=auth_headers("admin"))
    assert missing.status_code == 404 and missing.json()["code"] == "USER_NOT_FOUND"
    assert (await client.get(f"/users/{user['id']}")).status_code == 401


async def test_disabled_users_cannot_log_in(client: Client, unique: str, auth_headers: Headers) -> None:
    user = await register(client, unique)
    await client.patch(f"/users/{user['id']}", json={"status": "disabled"}, headers=auth_headers("admin"))
    assert (await login(client, user["email"], "s3cret-pass")).status_code == 401


async def test_seeded_role_users_can_log_in(client: Client, users_by_role: dict[str, uuid.UUID]) -> None:
    from tests.helpers.run import RUN_ID

    response = await login(client, f"analyst-{RUN_ID}@example.com", TEST_PASSWORD)
    assert response.status_code == 200
