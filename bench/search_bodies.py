"""Every OpenSearch body `/search` sends for a query, recorded by running the API's own search code once.

The raw baseline of `bench/search.py` replays these, in order, straight to OpenSearch: a query whose exact words
come back short costs the API a probe and one more search, and the raw figure pays the same round trips. The
API's overhead is then what it adds on top of the engine's work, not the work of passes the baseline skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from litestar.datastructures import State
from opensearchpy import AsyncOpenSearch
from redis.asyncio import Redis

Params = list[tuple[str, str]]
RECORDING = "recording"
Sent = tuple[str, bytes, str]
"""One request: the endpoint (`_search` or `_msearch`), the encoded body and its filter_path."""


class RecordingClient:
    """Passes `search` and `msearch` through to OpenSearch and keeps what was sent."""

    def __init__(self, client: AsyncOpenSearch) -> None:
        self.client = client
        self.sent: list[Sent] = []

    async def search(self, *, index: str, body: bytes, filter_path: str) -> Any:
        self.sent.append(("_search", body, filter_path))
        return await self.client.search(index=index, body=body, filter_path=filter_path)

    async def msearch(self, *, index: str, body: bytes, filter_path: str) -> Any:
        self.sent.append(("_msearch", body, filter_path))
        return await self.client.msearch(index=index, body=body, filter_path=filter_path)


def search_params(params: Params) -> Any:
    """The validated SearchParams for one bench query (its `brand` and `attr.*` may repeat)."""
    from search import validation

    single = dict(params)
    return validation.build_params(
        q=single.get("q"), category=single.get("category"), brand=[v for k, v in params if k == "brand"],
        price_min=float(single["price_min"]) if "price_min" in single else None,
        price_max=float(single["price_max"]) if "price_max" in single else None,
        in_stock=True if "in_stock" in single else None, sort=single.get("sort", "relevance"),
        page=int(single.get("page", 1)), per_page=int(single.get("per_page", 20)), cursor=None, attributes=params,
        group=single.get("group") != "false")


async def _record(queries: Sequence[Params]) -> list[list[Sent]]:
    from catalog.settings import get_settings
    from db.session import async_session_factory, make_async_engine
    from search import service
    from search.client import make_search_client

    settings = get_settings()
    engine = make_async_engine(settings)
    client = make_search_client(settings, timeout=60)
    redis = Redis.from_url(settings.redis_url)
    recorder = RecordingClient(client)
    state = State({"settings": settings, "sessions": async_session_factory(engine), "redis": redis,
                   "opensearch": recorder})
    try:
        rt = service.runtime(state)
        # Cached by the API too, not per-query requests: the common attribute keys, and whether the index holds
        # variants (asked once per index generation; one generation here).
        await rt.most_common_keys(client, settings.index_alias)
        await rt.has_variants(client, settings.index_alias, RECORDING)
        expansions = await rt.synonyms.expansions(state.sessions, None)
        recorded = []
        for params in queries:
            recorder.sent = []
            await service.answer(state, rt, search_params(params), expansions, generation=RECORDING)
            recorded.append(recorder.sent)
        return recorded
    finally:
        await client.close()
        await redis.aclose()
        await engine.dispose()


def record_bodies(queries: Sequence[Params]) -> list[list[Sent]]:
    """For each query, the requests the API sends OpenSearch for it (uncached), in order."""
    return asyncio.run(_record(queries))
