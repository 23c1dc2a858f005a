"""Assertions and helpers shared by the API tests."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is an error with this status and code, in the `{code, message, details}` body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert body["message"]
    return body  # type: ignore[no-any-return]


def in_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at the same time, one thread each (the sync TestClient is thread-safe per call)."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def assert_validation_error_names(response: Any, field: str) -> None:
    """A 400 VALIDATION_ERROR whose `details.fields` names `field` (as a key or inside a message)."""
    details = assert_error(response, 400, "VALIDATION_ERROR")["details"]
    assert any(field in key or field in message for key, message in details["fields"].items()), details


def documented_paths() -> set[str]:
    """The paths of the app's OpenAPI schema (what is mounted), read without serving it."""
    from api.app import create_app

    return set(create_app().openapi_schema.to_schema()["paths"])
