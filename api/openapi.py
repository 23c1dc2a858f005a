"""OpenAPI pieces: the bearer security scheme and the documented error responses of each route."""

from __future__ import annotations

from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from catalog.field_types import ErrorBody

_DESCRIPTIONS = {
    204: "Done; no body.",
    400: "Invalid input; `details.fields` names the offending fields.",
    401: "Missing, invalid or expired bearer token.",
    403: "Authenticated, but the role does not allow this.",
    404: "Not found.",
    409: "Conflicts with existing data (e.g. a duplicate SKU or email).",
    412: "If-Match names a version that is no longer current.",
    410: "Gone: the cursor is older than the retention window (`details.oldest_cursor` is still served).",
    413: "The request body is larger than the configured limit.",
    429: "Too many requests; retry after the `Retry-After` seconds.",
    503: "A backing service is unavailable; retry shortly.",
}


# Any route can answer these: a malformed parameter (400), the rate limiter (429), a backing service down (503).
# Documented everywhere so clients (and the schema fuzz test) see our error body, not Litestar's default.
ALWAYS_POSSIBLE = (400, 429, 503)


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The documented error responses of a route; pass 204 too when it answers without a body (Litestar would
    otherwise document a `Response[None]` as a JSON `null`)."""
    return {
        status: ResponseSpec(data_container=None if status == 204 else ErrorBody, description=_DESCRIPTIONS[status])
        for status in sorted({*statuses, *ALWAYS_POSSIBLE})
    }


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Product Catalog API",
        version="1.0.0",
        description="Catalog writes for staff (JWT bearer), storefront search for shoppers (public).",
        path="/schema",
        render_plugins=[SwaggerRenderPlugin(path="/swagger")],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http", scheme="bearer", bearer_format="JWT", description="From POST /auth/token"
                ),
            }
        ),
        security=[{"BearerToken": []}],
        use_handler_docstrings=True,
    )
