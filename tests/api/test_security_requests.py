"""Security of every request: token claims, login without user enumeration, body limits, security headers and
request ids, CORS, secrets kept out of logs, and a storefront that never shows drafts, archived products or
internal fields."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from catalog.settings import Settings
from tests.helpers.api import assert_error, documented_paths
from tests.helpers.factories import product_payload
from tests.helpers.run import RUN_ID, TEST_PASSWORD

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]
PATHS = documented_paths()


# --- tokens -----------------------------------------------------------------------------------------------------


def _token(settings: Settings, user_id: uuid.UUID, **claims: Any) -> str:
    now = int(time.time())
    base = {"sub": str(user_id), "roles": ["admin"], "iat": now, "nbf": now, "exp": now + 600,
            "iss": settings.jwt_issuer, "aud": settings.jwt_audience}
    payload = {k: v for k, v in {**base, **claims}.items() if v is not None}
    return jwt.encode(payload, settings.jwt_secret, algorithm="HS256")


async def test_tokens_with_a_foreign_issuer_no_expiry_a_future_nbf_or_alg_none_are_refused(
    client: Client, settings: Settings, users_by_role: dict[str, uuid.UUID]
) -> None:
    """Expiry, audience and a wrong key are in test_users_auth.py; these are the remaining claim checks."""
    admin = users_by_role["admin"]
    unsigned = jwt.encode({"sub": str(admin), "roles": ["admin"], "exp": int(time.time()) + 600,
                           "iss": settings.jwt_issuer, "aud": settings.jwt_audience}, key=None, algorithm="none")
    refused = {
        "foreign issuer": _token(settings, admin, iss="someone-else"),
        "no expiry": _token(settings, admin, exp=None),
        "not yet valid": _token(settings, admin, nbf=int(time.time()) + 3600),
        "alg none": unsigned,
        "no subject": _token(settings, admin, sub=None),
    }
    for what, token in refused.items():
        response = await client.get("/products", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, what
        assert response.json()["code"] == "INVALID_TOKEN", what
    accepted = await client.get("/products", headers={"Authorization": f"Bearer {_token(settings, admin)}"})
    assert accepted.status_code == 200


# --- login does not reveal which emails exist -------------------------------------------------------------------


@pytest.fixture
def argon2_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification made during the test (the hash each one checked against)."""
    seen: list[str] = []
    original = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        seen.append(hash if isinstance(hash, str) else hash.decode())
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)
    return seen


async def test_login_answers_unknown_email_and_wrong_password_alike_doing_the_same_work(
    client: Client, argon2_verifications: list[str]
) -> None:
    known = f"admin-{RUN_ID}@example.com"
    wrong_password = await client.post("/auth/token", data={"username": known, "password": "not-it"})
    unknown_email = await client.post("/auth/token", data={"username": f"ghost-{RUN_ID}@example.com",
                                                           "password": "not-it"})
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.headers.get("www-authenticate") == unknown_email.headers.get("www-authenticate")
    # Same code path: one argon2 verification each (a dummy hash stands in for the unknown email).
    assert len(argon2_verifications) == 2
    assert all(h.startswith("$argon2") for h in argon2_verifications)


# --- request body limit -----------------------------------------------------------------------------------------


async def test_bodies_over_the_limit_get_413_with_the_error_body(database: str, settings: Settings,
                                                                 auth_headers: Headers) -> None:
    admin = auth_headers("admin")
    app = create_app(settings.model_copy(update={"max_request_body_bytes": 2048}))

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit must hold for streamed bodies too
        yield b'[{"sku": "STREAMED", "name": "n", "price": 1, "description": "'
        for _ in range(40):
            yield b"y" * 100
        yield b'"}]'

    async with app.lifespan(), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                 base_url="http://testserver", headers=admin) as client:
        big = await client.post("/products", json=product_payload(description="x" * 4000))
        streamed = await client.post("/products/bulk", content=chunks(), headers={"content-type": "application/json"})
        small = await client.post("/products", json=product_payload(description="short"))
    assert_error(big, 413, "REQUEST_TOO_LARGE")
    assert "content-length" not in streamed.request.headers
    assert_error(streamed, 413, "REQUEST_TOO_LARGE")
    assert small.status_code == 201


# --- security headers and request ids ---------------------------------------------------------------------------

EXPECTED_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}


async def test_every_response_carries_the_security_headers_and_a_request_id(client: Client,
                                                                            auth_headers: Headers) -> None:
    responses = {
        "200": await client.get("/health"),
        "201": await client.post("/products", json=product_payload(), headers=auth_headers("admin")),
        "400": await client.post("/products", content=b"{", headers={**auth_headers("admin"),
                                                                     "content-type": "application/json"}),
        "401": await client.get("/products"),
        "403": await client.get("/products", headers=auth_headers("customer")),
        "404": await client.get("/no-such-route"),
        "405": await client.put("/health"),
        "docs": await client.get("/schema/openapi.json"),
    }
    for status, response in responses.items():
        for name, value in EXPECTED_HEADERS.items():
            assert response.headers.get(name) == value, (status, name)
        assert response.headers.get("x-request-id"), status



async def test_the_request_id_is_echoed_and_names_the_access_log_line(client: Client,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="catalog.access")
    echoed = await client.get("/health", headers={"X-Request-ID": "trace-me-123"})
    minted = await client.get("/no-such-route")
    assert echoed.headers["x-request-id"] == "trace-me-123"
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "catalog.access"]
    assert {"request_id": "trace-me-123", "method": "GET", "path": "/health", "status": 200}.items() <= lines[0].items()
    assert len(minted.headers["x-request-id"]) == 32
    # an unknown route never reaches route middleware, and is still logged under the id it was answered with
    assert {"request_id": minted.headers["x-request-id"], "path": "/no-such-route", "status": 404}.items() \
        <= lines[1].items()


# --- CORS -------------------------------------------------------------------------------------------------------


def _preflight(origin: str) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"}


async def test_cors_is_closed_by_default(client: Client) -> None:
    simple = await client.get("/health", headers={"Origin": "https://evil.example"})
    preflight = await client.options("/products", headers=_preflight("https://evil.example"))
    assert "access-control-allow-origin" not in simple.headers
    assert "access-control-allow-origin" not in preflight.headers


async def test_cors_opens_only_to_the_configured_origins(database: str) -> None:
    app = create_app(Settings(cors_allow_origins=["https://shop.example"]))
    async with AsyncTestClient(app=app) as client:
        allowed = await client.options("/products", headers=_preflight("https://shop.example"))
        simple = await client.get("/health", headers={"Origin": "https://shop.example"})
        foreign = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert allowed.status_code in (200, 204)
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert simple.headers["access-control-allow-origin"] == "https://shop.example"
    assert foreign.headers.get("access-control-allow-origin") in (None, "https://shop.example")
    assert "evil.example" not in str(foreign.headers)


# --- secrets never logged ---------------------------------------------------------------------------------------


async def test_passwords_and_tokens_never_reach_the_logs(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    email = f"admin-{RUN_ID}@example.com"
    login = await client.post("/auth/token", data={"username": email, "password": TEST_PASSWORD})
    token = login.json()["access_token"]
    await client.get("/products", headers={"Authorization": f"Bearer {token}"})
    await client.get("/products/0", headers={"Authorization": f"Bearer {token}"})  # an error path too
    await client.post("/auth/token", data={"username": email, "password": TEST_PASSWORD + "-wrong"})
    await client.get("/products", headers={"Authorization": f"Bearer {token}x"})  # a refused token
    logged = "\n".join(record.getMessage() + repr(record.args) + str(record.exc_info) for record in caplog.records)
    assert "/auth/token" in logged  # the access log did record these requests
    for secret in (TEST_PASSWORD, token, token.rsplit(".", 1)[-1]):
        assert secret not in logged


# --- the storefront never sees drafts, archived products or internal data ---------------------------------------


INTERNAL_KEYS = {"audit", "audit_log", "price_history", "cost", "cost_price", "actor", "changed_by", "password_hash",
                 "missing_fields", "completeness"}


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


@pytest.mark.skipif("/search" not in PATHS, reason="the storefront search API (/search) is not mounted yet")
async def test_storefront_shows_only_active_products_and_no_internal_fields(
    client: Client, auth_headers: Headers, consumer: Any, unique: str
) -> None:
    word = "".join(chr(ord("k") + int(c, 16)) for c in unique)  # letters only, unknown to every other test
    admin = auth_headers("admin")
    for status in ("draft", "active", "archived"):
        created = await client.post("/products", json=product_payload(name=f"{word} kettle {status}", status=status),
                                    headers=admin)
        assert created.status_code == 201, created.text
    consumer.drain()
    found = await client.get("/search", params={"q": word}, headers={"Cache-Control": "no-cache"})
    suggested = await client.get("/search/suggest", params={"q": word[:6]}, headers={"Cache-Control": "no-cache"})
    assert found.status_code == suggested.status_code == 200, found.text
    assert [item["name"] for item in found.json()["items"]] == [f"{word} kettle active"]
    assert "draft" not in suggested.text and "archived" not in suggested.text
    assert _keys(found.json()) & INTERNAL_KEYS == set()
