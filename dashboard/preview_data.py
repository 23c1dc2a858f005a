"""The search preview run in-process: the engine's own `search.preview` on clients made for one call, so the
dashboard shows what shoppers get through the very same code path as `GET /search/preview`.

The one place the dashboard runs the search engine (everything else reads PostgreSQL or the index itself): a copy
of the ranking explanation would drift from the ranking. Streamlit runs a page in a thread of its own, so every call
runs on a fresh event loop (`asyncio.run`) and opens and closes its clients inside it; async clients are bound
to the loop that made them and are never cached across reruns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass

from litestar.datastructures import State
from redis.asyncio import Redis

from catalog.errors import InvalidInput
from catalog.settings import get_settings
from db.session import async_session_factory, make_async_engine
from search import preview, validation
from search.client import make_search_client
from search.preview import SearchPreview
from search.schemas import SearchParams

SEARCH_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class PreviewInput:
    """What the merchandiser typed and chose on the page."""

    q: str = ""
    category: str | None = None
    brands: tuple[str, ...] = ()
    in_stock: bool = False
    sort: str = "relevance"
    per_page: int = 20
    group: bool = True
    attributes: str = ""
    """`name=value`, one a line (a name given twice matches either value)."""


def attribute_pairs(lines: str) -> list[tuple[str, str]]:
    """`color=red` lines as the search's `attr.color=red` parameters; blank lines are skipped."""
    pairs = []
    for number, line in enumerate(lines.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise InvalidInput(f"Attribute line {number} ({line.strip()!r}) is not `name=value`.",
                               {"fields": {"attributes": "name=value, one a line"}})
        pairs.append((f"{validation.ATTR_PARAM}{name.strip()}", value.strip()))
    return pairs


def params_of(chosen: PreviewInput) -> SearchParams:
    """The validated search parameters, as `GET /search/preview` builds them (raises InvalidInput)."""
    return validation.build_params(
        q=chosen.q, category=chosen.category, brand=list(chosen.brands), price_min=None, price_max=None,
        in_stock=True if chosen.in_stock else None, sort=chosen.sort, page=1, per_page=chosen.per_page, cursor=None,
        attributes=attribute_pairs(chosen.attributes), group=chosen.group)


async def _preview(params: SearchParams) -> tuple[SearchPreview, float]:
    settings = get_settings()
    engine = make_async_engine(settings)
    client = make_search_client(settings, timeout=SEARCH_TIMEOUT_SECONDS)
    redis = Redis.from_url(settings.redis_url)
    state = State({"settings": settings, "sessions": async_session_factory(engine), "redis": redis,
                   "opensearch": client})
    try:
        started = time.perf_counter()
        found = await preview.preview(state, params)
        return found, (time.perf_counter() - started) * 1000
    finally:
        await client.close()
        await redis.aclose()
        await engine.dispose()


def run_preview(params: SearchParams) -> tuple[SearchPreview, float]:
    """The shopper's answer now (never cached), the rules that fired and why each hit ranks where it does, and the
    milliseconds it took (clients made and closed aside). Raises catalog.errors.ServiceUnavailable when the search
    index cannot be read."""
    return asyncio.run(_preview(params))


def factor_text(factors: Iterable[preview.Factor]) -> str:
    """`'tv' names its category x1.5 · in stock x1.2`."""
    return " · ".join(f"{factor.reason} x{factor.weight:g}" for factor in factors)
