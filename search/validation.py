"""The storefront search request, validated: what the query string may hold and what it means."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Final

from catalog.errors import InvalidInput
from search import cursors
from search.schemas import MAX_PER_PAGE, MAX_QUERY_LENGTH, SORTS, SearchParams

MAX_RESULT_WINDOW: Final = 10_000  # the index's `index.max_result_window` (OpenSearch default)
ATTR_PARAM: Final = "attr."
ATTRIBUTE_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
SEARCH_PARAMS: Final = frozenset({"q", "category", "brand", "price_min", "price_max", "in_stock", "sort", "page",
                                  "per_page", "cursor", "after_change", "group"})
SUGGEST_PARAMS: Final = frozenset({"q"})


def invalid(field_name: str, problem: str) -> InvalidInput:
    return InvalidInput(f"Invalid search parameter `{field_name}`: {problem}.", {"fields": {field_name: problem}})


def refuse_unknown(keys: Iterable[str], allowed: frozenset[str], attributes: bool) -> None:
    unknown = sorted({k for k in keys if k not in allowed and not (attributes and k.startswith(ATTR_PARAM))})
    if unknown:
        known = ", ".join(sorted(allowed)) + (", attr.<name>" if attributes else "")
        raise InvalidInput(f"Unknown query parameter(s): {', '.join(unknown)}. Known: {known}.",
                           {"fields": dict.fromkeys(unknown, "unknown parameter")})


def attribute_filters(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`attr.color=red&attr.color=blue&attr.size=m` -> (("color", ("blue", "red")), ("size", ("m",)))."""
    found: dict[str, dict[str, None]] = {}
    for key, value in pairs:
        if not key.startswith(ATTR_PARAM):
            continue
        name = key[len(ATTR_PARAM):]
        if not ATTRIBUTE_NAME.fullmatch(name):
            raise invalid(key, "attribute names are lowercase letters, digits and underscores")
        if not value or len(value) > 200:
            raise invalid(key, "give a value of 1 to 200 characters")
        found.setdefault(name, {})[value] = None
    if len(found) > 20:
        raise invalid("attr", "at most 20 attribute filters")
    return tuple((name, tuple(sorted(values))) for name, values in sorted(found.items()))


def _finite(name: str, value: float | None) -> float | None:
    if value is not None and (not math.isfinite(value) or value < 0):
        raise invalid(name, "a non-negative number")
    return value


def build_params(*, q: str | None, category: str | None, brand: Sequence[str] | None, price_min: float | None,
                 price_max: float | None, in_stock: bool | None, sort: str, page: int, per_page: int,
                 cursor: str | None, attributes: Iterable[tuple[str, str]] = (), group: bool = True) -> SearchParams:
    """Validate what the types alone cannot, and normalize the order of multi-valued filters."""
    text_q = " ".join((q or "").split())
    if len(q or "") > MAX_QUERY_LENGTH:
        raise invalid("q", f"at most {MAX_QUERY_LENGTH} characters")
    if sort not in SORTS:
        raise invalid("sort", f"one of {', '.join(SORTS)}")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise invalid("per_page", f"between 1 and {MAX_PER_PAGE}")
    if page < 1:
        raise invalid("page", "1 or more")
    if page * per_page > MAX_RESULT_WINDOW:
        raise invalid("page", f"page x per_page may not exceed {MAX_RESULT_WINDOW}; use `cursor` to page deeper")
    price_min, price_max = _finite("price_min", price_min), _finite("price_max", price_max)
    if price_min is not None and price_max is not None and price_min > price_max:
        raise invalid("price_min", "not above price_max")
    brands = tuple(sorted({b for b in (brand or []) if b}))
    if len(brands) > 50:
        raise invalid("brand", "at most 50 brands")
    search_after, cursor_offset = None, None
    if cursor:
        try:
            found = cursors.decode_cursor(cursor, sort)
        except cursors.BadCursor as exc:
            raise invalid("cursor", str(exc)) from exc
        if isinstance(found, int):
            if found + per_page > MAX_RESULT_WINDOW:
                raise invalid("cursor", f"grouped results end at the {MAX_RESULT_WINDOW}th model; narrow the search")
            cursor_offset = found
        else:
            search_after = found
    return SearchParams(
        q=text_q, category=(category or "").strip("/") or None, brands=brands,
        attributes=attribute_filters(attributes), price_min=price_min, price_max=price_max, in_stock=in_stock,
        sort=sort, page=page, per_page=per_page, search_after=search_after,  # type: ignore[arg-type]
        cursor_offset=cursor_offset, group=group,
    )
