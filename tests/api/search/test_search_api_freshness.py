"""Storefront search freshness and caching: no stale cached answer after an update, `after_change` waits for
the write to be searchable, synonyms apply without a reindex, Redis down means uncached, searches are recorded."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from indexer.stream import OutboxConsumer
from search.cache import ResponseCache
from tests.helpers.api import assert_error
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.search import create, ids, search, word

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


# --- freshness, cache, synonyms --------------------------------------------------------------------------------

async def test_no_stale_cache_after_an_update_is_indexed(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, unique: str) -> None:
    w = word(unique)
    product = await create(shop, auth_headers, name=f"{w} Blender")
    consumer.drain()
    first = await shop.get("/search", params={"q": w})
    again = await shop.get("/search", params={"q": w})
    assert first.json()["items"][0]["name"] == again.json()["items"][0]["name"] == f"{w} Blender"

    response = await shop.put(f"/products/{product['id']}", json={"name": f"{w} Juicer"},
                              headers=auth_headers("merchandiser"))
    assert response.status_code == 200
    consumer.drain()
    assert (await search(shop, q=w))["items"][0]["name"] == f"{w} Juicer"


async def test_after_change_waits_until_the_write_is_searchable(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, unique: str) -> None:
    w = word(unique)
    product = await create(shop, auth_headers, name=f"{w} Kayak")

    def index_shortly() -> None:
        time.sleep(0.3)
        consumer.drain()

    indexer = threading.Thread(target=index_shortly)
    indexer.start()
    try:
        result = await search(shop, q=w, after_change=product["change"])
    finally:
        indexer.join()
    assert result["fresh"] is True
    assert ids(result) == [product["id"]]


async def test_after_change_answers_not_fresh_when_nothing_indexes_in_time(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, unique: str) -> None:
    w = word(unique)
    product = await create(shop, auth_headers, name=f"{w} Canoe")
    try:
        result = await search(shop, q=w, after_change=product["change"])
        assert result["fresh"] is False
        assert ids(result) == []
    finally:
        consumer.drain()  # leave nothing queued for the other tests


async def test_synonyms_apply_without_reindex(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, unique: str) -> None:
    w = word(unique)
    tv = await create(shop, auth_headers, name=f"{w} Television 55")
    notebook = await create(shop, auth_headers, name=f"{w} Notebook Pro")
    laptop = await create(shop, auth_headers, name=f"{w} Laptop Stand")
    consumer.drain()
    before = await search(shop, q=f"{w} tv")  # no product says "tv": only the relaxed query finds anything
    assert before["relaxed"] is not None and tv["id"] in ids(before)

    headers = auth_headers("merchandiser")
    equivalent = await shop.post("/synonyms", json={"terms": ["TV", "television"]}, headers=headers)
    one_way = await shop.post("/synonyms", json={"terms": ["laptop"], "replacements": ["notebook"]}, headers=headers)
    assert equivalent.status_code == one_way.status_code == 201, equivalent.text

    synonym = await search(shop, q=f"{w} tv")
    assert ids(synonym) == [tv["id"]] and synonym["relaxed"] is None
    assert set(ids(await search(shop, q=f"{w} laptop"))) == {notebook["id"], laptop["id"]}
    assert ids(await search(shop, q=f"{w} notebook")) == [notebook["id"]]  # one-way: not back to laptop

    listed = (await shop.get("/synonyms", headers=headers)).json()
    assert {"terms": ["laptop"], "replacements": ["notebook"]}.items() <= next(
        s for s in listed if s["id"] == one_way.json()["id"]).items()
    for created in (equivalent, one_way):
        assert (await shop.delete(f"/synonyms/{created.json()['id']}", headers=headers)).status_code == 204
    assert (await search(shop, q=f"{w} tv"))["relaxed"] is not None
    assert_error(await shop.delete(f"/synonyms/{one_way.json()['id']}", headers=headers), 404, "SYNONYM_NOT_FOUND")


async def test_synonym_management_needs_a_catalog_writer(shop: Client, auth_headers: Headers) -> None:
    assert_error(await shop.post("/synonyms", json={"terms": ["a", "b"]}), 401, "NOT_AUTHENTICATED")
    assert_error(await shop.post("/synonyms", json={"terms": ["a", "b"]}, headers=auth_headers("analyst")),
                 403, "FORBIDDEN")
    body = assert_error(await shop.post("/synonyms", json={"terms": ["alone"]},
                                        headers=auth_headers("merchandiser")), 400, "VALIDATION_ERROR")
    assert "terms" in body["details"]["fields"]


async def test_redis_down_means_uncached_not_failed() -> None:
    cache = ResponseCache(Redis(port=1, socket_connect_timeout=0.2), "nowhere")
    found = await cache.lookup("q", "anything")
    assert (found.generations, found.payload, found.known) == ((None, None), None, False)
    assert await cache.generations() == (None, None)
    await cache.put(found, b"{}")
    cache.put_later(found, b"{}")
    await cache.redis.aclose()


async def test_searches_are_recorded_for_analytics(shop: Client, catalog_rows: CatalogRows, unique: str) -> None:
    q = f"{word(unique)} nothing here"
    result = await search(shop, q=q, sort="name", **{"attr.color": "red"})
    recorded = None
    for _ in range(50):
        recorded = catalog_rows.conn.execute(
            "SELECT result_count, filters, sort, cached FROM search_queries WHERE query = %s", (q,)).fetchone()
        if recorded:
            break
        await asyncio.sleep(0.05)
    assert recorded == (result["total"], {"attr.color": ["red"]}, "name", False)
