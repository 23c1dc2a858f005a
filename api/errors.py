"""The one handler that turns every error into `{code, message, details}`: the domain errors (`catalog.errors`),
Litestar's own and the database's."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_405_METHOD_NOT_ALLOWED,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_500_INTERNAL_SERVER_ERROR,
)
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from catalog.errors import CatalogError, Forbidden, InvalidInput, NotFound, ServiceUnavailable, Unauthorized

log = logging.getLogger("catalog.api")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


def _response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    return Response(
        content=error_body(code, message, details), status_code=status, headers=headers, media_type="application/json"
    )


def _validation_details(exc: ValidationException) -> dict[str, Any]:
    """Litestar lists problems as [{message, key, source}]; name each offending field."""
    fields: dict[str, str] = {}
    extra = exc.extra if isinstance(exc.extra, list) else []
    for problem in extra:
        if isinstance(problem, dict):
            message = str(problem.get("message", "invalid value"))
            fields[_field_name(problem, message)] = message
    if not fields:
        fields["body"] = exc.detail
    return {"fields": fields}


_BODY_PATH = re.compile(r"at `\$\.([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")


def _field_name(problem: dict[str, Any], message: str) -> str:
    """msgspec reports body problems as key `data` with the field inside the message; name the field."""
    key = str(problem.get("key") or "")
    if key and key != "data":
        return key
    for pattern in (_BODY_PATH, _MISSING_FIELD, _UNKNOWN_FIELD):
        if match := pattern.search(message):
            return match.group(1)
    return key or "body"


def _catalog_response(exc: CatalogError) -> Response[dict[str, Any]]:
    return _response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


def handle_catalog_error(_: Request[Any, Any, Any], exc: CatalogError) -> Response[dict[str, Any]]:
    return _catalog_response(exc)


INVALID_REQUEST = "The request is invalid."


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    """Litestar's own errors (routing, parsing, body limits) in our body format."""
    if isinstance(exc, ValidationException):
        return _catalog_response(InvalidInput(INVALID_REQUEST, _validation_details(exc)))
    if isinstance(exc, NotAuthorizedException):
        return _catalog_response(Unauthorized(exc.detail or "Authentication required.",
                                              headers={"WWW-Authenticate": "Bearer"}))
    if isinstance(exc, PermissionDeniedException):
        return _catalog_response(Forbidden(exc.detail))
    if isinstance(exc, NotFoundException):
        return _catalog_response(NotFound(f"No route for {request.method} {request.url.path}.",
                                          code="ROUTE_NOT_FOUND"))
    if isinstance(exc, MethodNotAllowedException):
        return _response(
            HTTP_405_METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            f"{request.method} is not allowed on {request.url.path}.",
            headers=exc.headers,
        )
    if exc.status_code == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        return _response(
            HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            "REQUEST_TOO_LARGE",
            "The request body is larger than the configured limit (CATALOG_MAX_REQUEST_BODY_BYTES).",
        )
    if exc.status_code == HTTP_400_BAD_REQUEST:  # e.g. a body that is not valid JSON
        return _catalog_response(InvalidInput(INVALID_REQUEST, {"fields": {"body": exc.detail}}))
    code = "BAD_REQUEST" if exc.status_code < 500 else "INTERNAL_ERROR"
    return _response(exc.status_code, code, exc.detail, headers=exc.headers)


def handle_database_unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.warning("database unavailable: %s", exc.__class__.__name__)
    return _catalog_response(ServiceUnavailable("The database is unavailable; retry shortly.",
                                                code="DATABASE_UNAVAILABLE", headers={"Retry-After": "2"}))


def handle_data_error(_: Request[Any, Any, Any], exc: DataError) -> Response[dict[str, Any]]:
    """PostgreSQL refused a value as data (SQLSTATE class 22, e.g. an id beyond bigint): the input's fault."""
    reason = getattr(getattr(exc.orig, "diag", None), "message_primary", None) or "invalid value"
    log.warning("database refused a value: %s", reason)
    return _catalog_response(InvalidInput("A value is outside what the catalog accepts.",
                                          {"fields": {"request": reason}}))


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return handle_database_unavailable(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _response(HTTP_500_INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "An unexpected error occurred.")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    CatalogError: handle_catalog_error,
    HTTPException: handle_http_exception,
    OperationalError: handle_database_unavailable,
    DataError: handle_data_error,
    Exception: handle_unexpected,
}
