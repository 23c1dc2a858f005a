"""Click and conversion events against real PostgreSQL, Redis and OpenSearch: every search answer carries its own
signed `query_id`; POST /search/events accepts events for a fresh one (202), refuses a forged or expired one (404)
and a malformed body (400), and the event lands in `search_events` under the uuid of the search's own row."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from itsdangerous import TimestampSigner
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from catalog.settings import Settings
from indexer.stream import OutboxConsumer
from tests.helpers.api import assert_error, assert_validation_error_names
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.search import word
from tests.helpers.services import isolated_redis, wait_for_fresh_window

Client = AsyncTestClient[Litestar]


@pytest.fixture
def sku(catalog_rows: CatalogRows, consumer: OutboxConsumer, unique: str) -> str:
    """An indexed product's SKU; its name is `word(unique)`."""
    made = f"E-{unique}"
    catalog_rows.product(sku=made, name=f"{word(unique)} lamp")
    consumer.drain()
    return made


async def search_id(client: Client, q: str, **headers: str) -> str:
    response = await client.get("/search", params={"q": q}, headers=headers)
    assert response.status_code == 200, response.text
    query_id: str = response.json()["query_id"]
    return query_id


def event(query_id: str, sku: str, **fields: Any) -> dict[str, Any]:
    return {"query_id": query_id, "sku": sku, "type": "click", "position": 1, **fields}


async def poll(rows: CatalogRows, sql: str, params: Any, wanted: int = 1) -> list[Any]:
    """The rows `sql` finds once there are `wanted` of them (the recorders flush in the background)."""
    deadline = time.monotonic() + 10
    while True:
        found = rows.conn.execute(sql, params).fetchall()
        if len(found) >= wanted or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


def query_uuid(query_id: str) -> uuid.UUID:
    return uuid.UUID(hex=query_id.split(".", 1)[0])


async def test_every_answer_has_its_own_query_id_recorded_with_its_search(
        shop: Client, sku: str, unique: str, catalog_rows: CatalogRows) -> None:
    first = await search_id(shop, word(unique))
    cached = await search_id(shop, word(unique))  # the same answer from the response cache
    assert first and cached and first != cached
    rows = await poll(catalog_rows, "SELECT query_id, cached FROM search_queries WHERE query_id = ANY(%s) "
                      "ORDER BY id", ([query_uuid(first), query_uuid(cached)],), wanted=2)
    assert [(row[0], row[1]) for row in rows] == [(query_uuid(first), False), (query_uuid(cached), True)]


async def test_an_event_for_a_fresh_query_id_is_accepted_and_stored_under_the_searchs_row(
        shop: Client, sku: str, unique: str, catalog_rows: CatalogRows) -> None:
    query_id = await search_id(shop, word(unique))
    for kind, position in (("click", 1), ("add_to_cart", 1), ("purchase", None)):
        body = event(query_id, sku, type=kind, position=position)
        response = await shop.post("/search/events", json=body)
        assert response.status_code == 202, response.text
    stored = await poll(catalog_rows, "SELECT e.type, e.position, e.sku FROM search_events e "
                        "JOIN search_queries q ON q.query_id = e.query_id WHERE q.query = %s ORDER BY e.id",
                        (word(unique),), wanted=3)
    assert [tuple(row) for row in stored] == [("click", 1, sku), ("add_to_cart", 1, sku), ("purchase", None, sku)]


async def test_a_forged_query_id_is_not_found(shop: Client, sku: str, unique: str, settings: Settings) -> None:
    genuine = await search_id(shop, word(unique))
    tampered = genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB")
    other_uuid = uuid.uuid4().hex + genuine[32:]  # a valid signature moved onto another uuid
    other_secret = TimestampSigner("another-secret-of-at-least-32-characters!", salt="catalog.search.query_id",
                                   digest_method=hashlib.sha256).sign(uuid.uuid4().hex).decode()
    for forged in (tampered, other_uuid, other_secret, str(uuid.uuid4()), "x"):
        body = assert_error(await shop.post("/search/events", json=event(forged, sku)), 404, "QUERY_NOT_FOUND")
        assert "CATALOG_SEARCH_EVENT_WINDOW_SECONDS" in body["message"]


@pytest.fixture
async def short_window(database: str, settings: Settings, search_index: str) -> AsyncIterator[Client]:
    """An app whose query ids accept events for one second only."""
    app = create_app(settings.model_copy(update={"search_event_window_seconds": 1}))
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_an_expired_query_id_is_not_found(short_window: Client, sku: str, unique: str) -> None:
    fresh = await search_id(short_window, word(unique))
    expiring = await search_id(short_window, word(unique))
    assert (await short_window.post("/search/events", json=event(fresh, sku))).status_code == 202
    await asyncio.sleep(2.1)  # timestamps are whole seconds: 2 s is surely past a 1 s window
    assert_error(await short_window.post("/search/events", json=event(expiring, sku)), 404, "QUERY_NOT_FOUND")


async def test_a_malformed_event_is_refused_naming_the_field(shop: Client, sku: str, unique: str) -> None:
    query_id = await search_id(shop, word(unique))
    good = event(query_id, sku)
    for field, body in (
        ("sku", {k: v for k, v in good.items() if k != "sku"}),
        ("query_id", {k: v for k, v in good.items() if k != "query_id"}),
        ("type", {k: v for k, v in good.items() if k != "type"}),
        ("type", {**good, "type": "view"}),
        ("position", {**good, "position": "third"}),
        ("position", {**good, "position": 0}),
        ("position", {**good, "position": -2}),
        ("sku", {**good, "sku": 42}),
        ("sku", {**good, "sku": ""}),
        ("shopper", {**good, "shopper": "me"}),
    ):
        assert_validation_error_names(await shop.post("/search/events", json=body), field)
    not_json = await shop.post("/search/events", content=b"{nope", headers={"content-type": "application/json"})
    assert_error(not_json, 400, "VALIDATION_ERROR")


async def test_events_need_no_credentials_even_when_searches_need_a_key(
        database: str, settings: Settings, search_index: str, sku: str, unique: str,
        auth_headers: Any) -> None:
    app = create_app(settings.model_copy(update={"search_require_key": True}))
    async with AsyncTestClient(app=app) as client:
        created = await client.post("/search/keys", json={}, headers=auth_headers("admin"))
        query_id = await search_id(client, word(unique), **{"X-Search-Key": created.json()["key"]})
        assert (await client.post("/search/events", json=event(query_id, sku))).status_code == 202


async def test_events_are_rate_limited_like_every_public_route(stack: Settings, database: str, search_index: str,
                                                               sku: str, unique: str) -> None:
    limit = 4
    with isolated_redis(stack) as redis_settings:
        wait_for_fresh_window()
        app = create_app(redis_settings.model_copy(update={"rate_limit_per_minute": limit}))
        async with AsyncTestClient(app=app) as client:
            query_id = await search_id(client, word(unique))
            answers = [await client.post("/search/events", json=event(query_id, sku)) for _ in range(limit)]
            assert [r.status_code for r in answers] == [202] * (limit - 1) + [429]
            assert 1 <= int(answers[-1].headers["retry-after"]) <= 60
            assert_error(answers[-1], 429, "RATE_LIMITED")
