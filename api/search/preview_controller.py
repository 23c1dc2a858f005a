"""`GET /search/preview` (staff): a search as shoppers get it, with the rules that fired and why each hit ranks
where it does."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from api.auth.guards import CATALOG_READERS, requires
from api.openapi import error_responses
from catalog.errors import InvalidInput
from search import preview, validation
from search.schemas import DEFAULT_PER_PAGE

PREVIEW_PARAMS = validation.SEARCH_PARAMS - {"cursor", "after_change"}


def _number(request: Request[Any, Any, Any], name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput(f"Invalid search parameter `{name}`: a number.", {"fields": {name: "a number"}}) from None


def _whole(request: Request[Any, Any, Any], name: str, default: int) -> int:
    value = _number(request, name)
    if value is None:
        return default
    if not value.is_integer():
        raise InvalidInput(f"Invalid search parameter `{name}`: a whole number.", {"fields": {name: "whole"}})
    return int(value)


def _flag(request: Request[Any, Any, Any], name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false", "1", "0"):
        raise InvalidInput(f"Invalid search parameter `{name}`: true or false.", {"fields": {name: "true or false"}})
    return raw.lower() in ("true", "1")


class SearchPreviewController(Controller):
    path = "/search/preview"
    tags = ["search"]
    guards = [requires(CATALOG_READERS)]

    @get("/", summary="Preview a search: the shopper's answer, the rules that fired, why each hit ranks there",
         responses=error_responses(400, 401, 403, 503))
    async def preview_search(self, request: Request[Any, Any, Any]) -> preview.SearchPreview:
        """The same parameters as `GET /search` (no cursor); never cached. Each hit lists the ranking factors it
        earned (category or brand words, in stock, rule boosts), its text match (the score before them), or that a
        pin placed it."""
        validation.refuse_unknown(request.query_params.keys(), PREVIEW_PARAMS, attributes=True)
        params = validation.build_params(
            q=request.query_params.get("q"), category=request.query_params.get("category"),
            brand=request.query_params.getall("brand", []), price_min=_number(request, "price_min"),
            price_max=_number(request, "price_max"), in_stock=_flag(request, "in_stock"),
            sort=request.query_params.get("sort", "relevance"), page=_whole(request, "page", 1),
            per_page=_whole(request, "per_page", DEFAULT_PER_PAGE), cursor=None,
            attributes=request.query_params.multi_items(), group=_flag(request, "group") is not False,
        )
        return await preview.preview(request.app.state, params)
