"""Spreadsheet imports through the API: upload a file (202 and its job) and wait for the job to finish."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


async def finished(client: Client, headers: Headers, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        job = (await client.get(f"/imports/{job_id}", headers=headers("analyst"))).json()
        if job["status"] in ("done", "failed"):
            return job  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.05)


async def upload(client: Client, headers: Headers, body: bytes, content_type: str, **params: Any) -> dict[str, Any]:
    response = await client.post(
        "/products/import",
        content=body,
        params=params,
        headers={**headers("merchandiser"), "content-type": content_type},
    )
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/imports/{response.json()['id']}"
    return response.json()  # type: ignore[no-any-return]
