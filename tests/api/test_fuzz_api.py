"""Schemathesis over every operation in `/schema/openapi.json`, anonymous and as admin: no 5xx, no undocumented answer.

The app under test runs on a database and an index alias of its own (created here, dropped afterwards), so
random creates and deletes never touch the data other tests in the session rely on. `FUZZ_EXAMPLES` raises the
examples per operation (`make fuzz` runs 500); the default keeps the suite's run short. Generation is
derandomized, so a failure reproduces on the next run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from catalog.settings import Settings
from tests.helpers.catalogs import own_catalog

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def fuzz_settings(stack: Settings, database: str) -> Iterator[Settings]:
    """Settings for a throwaway, migrated database and an index alias of its own, next to the session's."""
    with own_catalog(stack, "fuzz") as fuzz:
        yield fuzz


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_settings: Settings) -> Any:
    from api.app import create_app

    return schemathesis.openapi.from_asgi("/schema/openapi.json", create_app(fuzz_settings))


@pytest.fixture(scope="module")
def admin_headers(fuzz_settings: Settings) -> dict[str, str]:
    from api.auth.security import issue_token

    return {"Authorization": f"Bearer {issue_token(fuzz_settings, uuid.uuid4(), ['admin'])}"}


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation, read from the app's schema without serving it."""
    from api.app import create_app

    paths = create_app().openapi_schema.to_schema()["paths"]
    methods = ("get", "post", "put", "patch", "delete")
    return [(method.upper(), path) for path, item in paths.items() for method in methods if method in item]


OPERATIONS = _operations()


def _fuzz(fuzz_schema: Any, method: str, path: str, headers: dict[str, str] | None) -> None:
    operation = fuzz_schema[path][method]

    @HYPOTHESIS
    @given(case=operation.as_strategy())
    def run(case: Case) -> None:
        if isinstance(case.query, dict) and "wait" in case.query:  # GET /changes long-polls up to 30 s: 1 s will do
            case.query["wait"] = min(float(case.query["wait"]), 1.0)
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_anonymous_calls_never_fail_or_break_the_schema(fuzz_schema: Any, method: str, path: str) -> None:
    _fuzz(fuzz_schema, method, path, None)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_admin_calls_never_fail_or_break_the_schema(fuzz_schema: Any, admin_headers: dict[str, str], method: str,
                                                    path: str) -> None:
    _fuzz(fuzz_schema, method, path, admin_headers)


def test_every_route_group_is_fuzzed() -> None:
    """Guard against a run that silently covers nothing: the main route groups are all in the schema."""
    paths = {path for _, path in OPERATIONS}
    assert {"/products", "/categories", "/warehouses", "/users", "/auth/token", "/quality/rules"} <= paths
