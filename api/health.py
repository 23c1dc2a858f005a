"""Liveness (`/health`) and readiness (`/ready`, each backing service reported)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy import text


@get("/health", tags=["operations"], security=[{}], summary="Liveness")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _check(coro: Any) -> str:
    try:
        await asyncio.wait_for(coro, timeout=2)
        return "ok"
    except Exception as exc:  # any failure means "not ready"; report its kind
        return f"unavailable: {exc.__class__.__name__}"


async def _postgres(state: State) -> None:
    async with state.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _opensearch(state: State) -> None:
    health = await state.opensearch.cluster.health()
    if health.get("status") not in ("green", "yellow"):
        raise RuntimeError(health.get("status"))


@get("/ready", tags=["operations"], security=[{}], summary="Readiness of PostgreSQL, Redis and OpenSearch")
async def ready(state: State) -> Response[dict[str, Any]]:
    checks = dict(
        zip(
            ("postgres", "redis", "opensearch"),
            await asyncio.gather(
                _check(_postgres(state)),
                _check(state.redis.ping()),
                _check(_opensearch(state)),
            ),
            strict=True,
        )
    )
    ok = all(value == "ok" for value in checks.values())
    return Response(
        {"status": "ready" if ok else "degraded", "checks": checks},
        status_code=HTTP_200_OK if ok else HTTP_503_SERVICE_UNAVAILABLE,
    )
