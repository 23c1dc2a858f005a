"""The catalog's domain errors: what went wrong, as a status, a code, a message and details. Shared base: the
services of every part raise them (the API's, the search core's); `api.errors` turns them into the HTTP error body
`{code, message, details}`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class CatalogError(Exception):
    """Base of every error the API reports on purpose. A kind of error names its HTTP status and default code
    once, in its class line: `class NotFound(CatalogError, status=HTTPStatus.NOT_FOUND.value, code="NOT_FOUND")`."""

    status_code: int = HTTPStatus.BAD_REQUEST.value
    code = "BAD_REQUEST"

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status_code = status
        if code is not None:
            cls.code = code

    def __init__(
        self,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}
        if code:
            self.code = code


class InvalidInput(CatalogError, status=HTTPStatus.BAD_REQUEST.value, code="VALIDATION_ERROR"): ...
class Unauthorized(CatalogError, status=HTTPStatus.UNAUTHORIZED.value, code="NOT_AUTHENTICATED"): ...
class Forbidden(CatalogError, status=HTTPStatus.FORBIDDEN.value, code="FORBIDDEN"): ...
class NotFound(CatalogError, status=HTTPStatus.NOT_FOUND.value, code="NOT_FOUND"): ...
class Conflict(CatalogError, status=HTTPStatus.CONFLICT.value, code="CONFLICT"): ...
class PreconditionFailed(CatalogError, status=HTTPStatus.PRECONDITION_FAILED.value, code="VERSION_MISMATCH"): ...
class ServiceUnavailable(CatalogError, status=HTTPStatus.SERVICE_UNAVAILABLE.value, code="SERVICE_UNAVAILABLE"): ...
