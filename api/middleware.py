"""ASGI middleware: request ids, security headers, structured access logs and Redis-backed rate limits."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Receive, Scope, Send
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.errors import error_body
from api.metrics import observe_request
from catalog.errors import CatalogError

access_log = logging.getLogger("catalog.access")

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


def request_id(scope: Scope) -> str:
    """The request's id: the caller's `X-Request-ID` (trimmed) or a fresh one, fixed for the whole request."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:64]
        state["request_id"] = incoming or uuid.uuid4().hex
    return str(state["request_id"])


async def add_response_headers(message: Message, scope: Scope) -> None:
    """`before_send` hook: request id and security headers on EVERY response, including the 404/405 answers
    that Litestar gives before any route (and so any route middleware) is chosen."""
    if message["type"] == "http.response.start" and scope["type"] == ScopeType.HTTP:
        headers = MutableScopeHeaders.from_message(message)
        headers["x-request-id"] = request_id(scope)
        for name, value in SECURITY_HEADERS.items():
            headers.setdefault(name, value)


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """Log one JSON line per request (under the id `add_response_headers` echoes) and count it in /metrics.

    Wraps the app's whole ASGI handler (see `api.app.create_app`), so unmatched routes are logged too."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder: dict[str, int] = {}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            seconds = time.perf_counter() - started
            status = status_holder.get("status", 500)
            observe_request(scope["method"], scope["path"], status, seconds)
            access_log.info(json.dumps({
                "request_id": request_id(scope), "method": scope["method"], "path": scope["path"],
                "status": status, "ms": round(seconds * 1000, 2),
            }))

    return middleware


def _client_key(scope: Scope) -> str:
    """Per token when one is sent (its signature part), else per client address."""
    headers = dict(scope["headers"])
    auth = headers.get(b"authorization", b"").decode("latin-1")
    if auth.lower().startswith("bearer ") and "." in auth:
        return "t:" + auth.rsplit(".", 1)[-1][:43]
    client = scope.get("client")
    return "ip:" + (client[0] if client else "unknown")


async def count_request(redis: Redis, bucket: str) -> int:
    """Count one request in `bucket`'s current one-minute window and return the window's count so far; 0 when
    Redis is down (documented: limits fail open so the catalog keeps answering without Redis)."""
    key = f"catalog:rl:{bucket}:{int(time.time() // 60)}"
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, 61)
            count, _ = await pipe.execute()
    except (RedisError, OSError):
        return 0
    return int(count)


class RateLimited(CatalogError, status=HTTP_429_TOO_MANY_REQUESTS, code="RATE_LIMITED"):
    """429 with `Retry-After`: the same answer whether the limit is the caller's or a search key's."""

    def __init__(self, limit: int, message: str = "Too many requests; slow down.") -> None:
        retry_after = 60 - int(time.time()) % 60
        super().__init__(message, {"limit_per_minute": limit, "retry_after_seconds": retry_after},
                         headers={"retry-after": str(retry_after)})


def rate_limit_middleware(app: ASGIApp) -> ASGIApp:
    """Fixed one-minute windows in Redis; stricter on /auth/token. Fails open when Redis is down."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        state = scope["app"].state
        settings = state.settings
        is_login = scope["path"] == "/auth/token"
        limit = settings.auth_rate_limit_per_minute if is_login else settings.rate_limit_per_minute
        if limit <= 0:
            await app(scope, receive, send)
            return
        if await count_request(state.redis, f"{'auth' if is_login else 'api'}:{_client_key(scope)}") > limit:
            refused = RateLimited(limit)
            await _send_json(send, refused.status_code, error_body(refused.code, refused.message, refused.details),
                             refused.headers)
            return
        await app(scope, receive, send)

    return middleware


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.encode(), v.encode()) for k, v in headers.items()]
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status, "headers": raw_headers}
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": payload, "more_body": False}
    await send(end)
