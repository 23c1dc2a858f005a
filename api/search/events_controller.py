"""HTTP route: click and conversion events from the storefront, tied to a search by its `query_id`."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.status_codes import HTTP_202_ACCEPTED

from api.openapi import error_responses
from api.search import events
from api.search.controller import PUBLIC
from api.search.events import SearchEventAccepted, SearchEventCreate


class SearchEventController(Controller):
    path = "/search/events"
    tags = ["search"]

    @post("/", summary="Record a click, add to cart or purchase", status_code=HTTP_202_ACCEPTED, security=PUBLIC,
          responses=error_responses(400, 404, 429))
    async def record_event(self, data: SearchEventCreate, request: Request[Any, Any, Any]) -> SearchEventAccepted:
        """`{"query_id": "<the search response's query_id>", "sku": "AB-123", "type": "click", "position": 3}`.
        Accepted once the query id checks out (404 when unknown or older than CATALOG_SEARCH_EVENT_WINDOW_SECONDS);
        written shortly after, off the response path."""
        events.record(request.app.state, data)
        return SearchEventAccepted()
