"""Rate limits backed by Redis: 429 with `Retry-After` and the error body, per token and per client address,
stricter on `/auth/token`, and failing open when Redis is down (as the README's settings table documents).

The session's environment sets huge limits, so each test builds its own app with explicit small ones, on a
Redis of its own (the shared one counts every other session's requests from the same test-client address).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.auth.security import issue_token
from catalog.settings import Settings
from tests.helpers.api import assert_error
from tests.helpers.services import free_port, isolated_redis, wait_for_fresh_window

LIMIT = 5
AUTH_LIMIT = 3


@pytest.fixture(scope="module")
def limited_settings(stack: Settings, database: str) -> Any:
    with isolated_redis(stack) as redis_settings:
        yield redis_settings.model_copy(update={"rate_limit_per_minute": LIMIT,
                                                "auth_rate_limit_per_minute": AUTH_LIMIT})


@pytest.fixture
async def limited(limited_settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A client on an app with small limits; the Redis counters start empty, early in a fresh window."""
    from redis import Redis

    Redis(port=limited_settings.redis_port).flushall()
    wait_for_fresh_window()
    async with AsyncTestClient(app=create_app(limited_settings)) as client:
        yield client


def bearer(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings, uuid.uuid4(), ['analyst'])}"}


async def test_the_request_past_the_limit_gets_429_with_retry_after_and_the_error_body(
    limited: AsyncTestClient[Litestar],
) -> None:
    answers = [await limited.get("/health") for _ in range(LIMIT)]
    assert [r.status_code for r in answers] == [200] * LIMIT
    refused = await limited.get("/health")
    body = assert_error(refused, 429, "RATE_LIMITED")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert body["details"]["limit_per_minute"] == LIMIT
    assert refused.headers["x-request-id"] and refused.headers["x-content-type-options"] == "nosniff"


async def test_each_token_has_its_own_bucket(limited: AsyncTestClient[Litestar], limited_settings: Settings) -> None:
    first, second = bearer(limited_settings), bearer(limited_settings)
    assert [(await limited.get("/categories", headers=first)).status_code for _ in range(LIMIT)] == [200] * LIMIT
    assert (await limited.get("/categories", headers=first)).status_code == 429
    assert (await limited.get("/categories", headers=second)).status_code == 200
    assert (await limited.get("/health")).status_code == 200  # the address's own bucket is untouched


async def test_each_client_address_has_its_own_bucket(limited_settings: Settings) -> None:
    from redis import Redis

    Redis(port=limited_settings.redis_port).flushall()
    wait_for_fresh_window()
    app = create_app(limited_settings)  # served in this loop, so calls can come from chosen addresses

    async def from_address(address: str) -> int:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return (await client.get("/health")).status_code

    async with app.lifespan():
        first = [await from_address("192.0.2.10") for _ in range(LIMIT + 1)]
        second = await from_address("192.0.2.11")
    assert first == [200] * LIMIT + [429]
    assert second == 200


async def test_token_endpoint_is_stricter_against_password_guessing(limited: AsyncTestClient[Litestar]) -> None:
    guess = {"username": f"victim-{uuid.uuid4().hex[:8]}@example.com", "password": "guess"}
    attempts = [await limited.post("/auth/token", data=guess) for _ in range(AUTH_LIMIT)]
    assert [r.status_code for r in attempts] == [401] * AUTH_LIMIT
    blocked = await limited.post("/auth/token", data=guess)
    assert_error(blocked, 429, "RATE_LIMITED")
    assert AUTH_LIMIT < LIMIT and "retry-after" in blocked.headers
    assert (await limited.get("/health")).status_code == 200  # logins have a bucket of their own


async def test_redis_down_limits_fail_open(stack: Settings, database: str) -> None:
    closed = stack.model_copy(update={"redis_port": free_port(), "rate_limit_per_minute": 1,
                                      "auth_rate_limit_per_minute": 1})
    async with AsyncTestClient(app=create_app(closed)) as client:
        answers = [(await client.get("/health")).status_code for _ in range(5)]
    assert answers == [200] * 5
