"""Scoped search keys against real PostgreSQL, Redis and OpenSearch: admins create, list and revoke them; a search or
suggestion with `X-Search-Key` stays inside the key's filter (a shopper's filters narrow it, never widen it), is
counted under the key's own rate limit, and is refused once the key is expired or revoked."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_app
from catalog.settings import Settings
from indexer.stream import OutboxConsumer
from tests.helpers.api import assert_error, assert_validation_error_names
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.search import counts, word
from tests.helpers.services import wait_for_fresh_window

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


async def create_key(client: Client, headers: Headers, **body: Any) -> dict[str, Any]:
    response = await client.post("/search/keys", json={"description": "test key", **body}, headers=headers("admin"))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def with_key(key: dict[str, Any]) -> dict[str, str]:
    return {"X-Search-Key": key["key"]}


async def search(client: Client, key: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
    response = await client.get("/search", params=params, headers=with_key(key) if key else None)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def skus(result: dict[str, Any]) -> set[str]:
    return {item["sku"] for item in result["items"]}


class Shelf:
    """Four products under one unique word: two brands x two categories, in two colors."""

    def __init__(self, rows: CatalogRows, unique: str) -> None:
        self.word = word(unique)
        self.phones, self.tablets = f"{self.word}/phones", f"{self.word}/tablets"
        phones, tablets = rows.category(self.phones), rows.category(self.tablets)
        rows.conn.execute(  # its own facets: whatever other tests leave in the shared index
            "INSERT INTO category_attributes (category_id, name, type, facetable) VALUES "
            "(%s, 'color', 'string', true), (%s, 'color', 'string', true)", (phones, tablets))
        self.brand_a, self.brand_b = f"Alpha {unique}", f"Beta {unique}"
        self.skus: dict[tuple[str, str], str] = {}
        for brand, category_id, category, color in ((self.brand_a, phones, "phones", "red"),
                                                    (self.brand_b, phones, "phones", "blue"),
                                                    (self.brand_a, tablets, "tablets", "blue"),
                                                    (self.brand_b, tablets, "tablets", "red")):
            sku = f"K-{unique}-{brand[0]}{category[0]}"
            rows.product(sku=sku, name=f"{self.word} {category} by {brand}", brand=brand, category_id=category_id,
                         attributes={"color": color})
            self.skus[(brand, category)] = sku


@pytest.fixture
def shelf(catalog_rows: CatalogRows, consumer: OutboxConsumer, search_index: str, unique: str) -> Shelf:
    made = Shelf(catalog_rows, unique)
    consumer.drain()
    return made


# --- management ----------------------------------------------------------------------------------------------

async def test_a_new_key_is_shown_once_and_only_its_digest_and_prefix_are_kept(
        client: Client, auth_headers: Headers, catalog_rows: CatalogRows, unique: str) -> None:
    catalog_rows.category(f"{word(unique)}/phones")
    created = await create_key(client, auth_headers, description=f"phones {unique}",
                               filter={"category": f"/{word(unique)}/phones/", "brand": ["Zeta", "Alpha", "Zeta"],
                                       "attr.color": "red"},
                               rate_limit_per_minute=600)
    secret = created["key"]
    assert secret.startswith("csk_") and len(secret) > 40
    assert created["key_prefix"] == secret[:12]
    assert created["filter"] == {"attr.color": ["red"], "brand": ["Alpha", "Zeta"],
                                 "category": [f"{word(unique)}/phones"]}
    assert created["active"] is True and created["revoked_at"] is None and created["expires_at"] is None

    listed = (await client.get("/search/keys", headers=auth_headers("admin"))).json()
    mine = next(k for k in listed if k["id"] == created["id"])
    assert "key" not in mine and secret not in str(listed)
    assert mine["key_prefix"] == created["key_prefix"] and mine["rate_limit_per_minute"] == 600
    stored = catalog_rows.scalar("SELECT key_hash FROM search_keys WHERE id = %s", (created["id"],))
    assert bytes(stored) == hashlib.sha256(secret.encode()).digest()
    audited = catalog_rows.scalar("SELECT changes::text FROM audit_log WHERE entity = 'search_key' AND entity_id = %s",
                                  (str(created["id"]),))
    assert audited and "key_hash" not in audited


async def test_only_admins_manage_keys(client: Client, auth_headers: Headers) -> None:
    assert_error(await client.get("/search/keys"), 401, "NOT_AUTHENTICATED")
    assert_error(await client.post("/search/keys", json={}), 401, "NOT_AUTHENTICATED")
    for role in ("merchandiser", "analyst"):
        assert_error(await client.get("/search/keys", headers=auth_headers(role)), 403, "FORBIDDEN")
        assert_error(await client.post("/search/keys", json={}, headers=auth_headers(role)), 403, "FORBIDDEN")
        assert_error(await client.delete("/search/keys/1", headers=auth_headers(role)), 403, "FORBIDDEN")


async def test_a_key_filter_names_only_facets_and_existing_categories(client: Client, auth_headers: Headers,
                                                                       unique: str) -> None:
    admin = auth_headers("admin")

    async def refused(body: dict[str, Any], field: str) -> dict[str, Any]:
        response = await client.post("/search/keys", json=body, headers=admin)
        assert_validation_error_names(response, field)
        return response.json()  # type: ignore[no-any-return]

    await refused({"filter": {"color": "red"}}, "filter.color")
    await refused({"filter": {"attr.Color": "red"}}, "filter.attr.Color")
    await refused({"filter": {"brand": 3}}, "filter")
    await refused({"filter": {"brand": []}}, "filter")
    await refused({"filter": {"brand": ""}}, "filter")
    await refused({"rate_limit_per_minute": 0}, "rate_limit_per_minute")
    await refused({"filter": {}, "secret": "mine"}, "secret")
    missing = await refused({"filter": {"category": [f"nowhere-{unique}"]}}, "filter.category")
    assert f"nowhere-{unique}" in missing["message"]

    only_limits = await create_key(client, auth_headers, rate_limit_per_minute=100)
    assert only_limits["filter"] == {}


async def test_revoking_a_key_refuses_it_at_once_and_lists_it_as_revoked(
        shop: Client, auth_headers: Headers, shelf: Shelf) -> None:
    key = await create_key(shop, auth_headers, filter={"brand": shelf.brand_a})
    assert (await search(shop, key, q=shelf.word))["total"] == 2

    assert (await shop.delete(f"/search/keys/{key['id']}", headers=auth_headers("admin"))).status_code == 204
    body = assert_error(await shop.get("/search", params={"q": shelf.word}, headers=with_key(key)), 401,
                        "INVALID_SEARCH_KEY")
    assert "revoked" in body["message"]
    assert_error(await shop.get("/search/suggest", params={"q": shelf.word}, headers=with_key(key)), 401,
                 "INVALID_SEARCH_KEY")
    listed = (await shop.get("/search/keys", headers=auth_headers("admin"))).json()
    mine = next(k for k in listed if k["id"] == key["id"])
    assert mine["revoked_at"] is not None and mine["active"] is False
    assert (await shop.delete(f"/search/keys/{key['id']}", headers=auth_headers("admin"))).status_code == 204
    assert_error(await shop.delete("/search/keys/999999999", headers=auth_headers("admin")), 404,
                 "SEARCH_KEY_NOT_FOUND")


async def test_an_expired_key_is_refused(shop: Client, auth_headers: Headers, shelf: Shelf) -> None:
    past = await create_key(shop, auth_headers, expires_at=(datetime.now(UTC) - timedelta(minutes=1)).isoformat())
    assert past["active"] is False
    body = assert_error(await shop.get("/search", params={"q": shelf.word}, headers=with_key(past)), 401,
                        "INVALID_SEARCH_KEY")
    assert "expired" in body["message"]

    soon = await create_key(shop, auth_headers, expires_at=(datetime.now(UTC) + timedelta(seconds=1.5)).isoformat())
    assert (await shop.get("/search", params={"q": shelf.word}, headers=with_key(soon))).status_code == 200
    await asyncio.sleep(1.6)
    assert_error(await shop.get("/search", params={"q": shelf.word}, headers=with_key(soon)), 401,
                 "INVALID_SEARCH_KEY")


async def test_an_unknown_or_malformed_key_is_refused(shop: Client) -> None:
    for secret in ("csk_" + "A" * 43, "not-a-key", ""):
        body = assert_error(await shop.get("/search", headers={"X-Search-Key": secret}), 401, "INVALID_SEARCH_KEY")
        assert "POST /search/keys" in body["message"]


# --- confinement -----------------------------------------------------------------------------------------------

async def test_a_key_confines_hits_and_facets_and_shopper_filters_only_narrow_it(
        shop: Client, auth_headers: Headers, shelf: Shelf) -> None:
    key = await create_key(shop, auth_headers, filter={"brand": shelf.brand_a, "category": shelf.phones})
    everything = await search(shop, q=shelf.word)
    assert everything["total"] == 4

    confined = await search(shop, key, q=shelf.word)
    assert skus(confined) == {shelf.skus[(shelf.brand_a, "phones")]}
    assert counts(confined["facets"]["brand"]) == {shelf.brand_a: 1}  # brand B is not even offered
    assert counts(confined["facets"]["attributes"]["color"]) == {"red": 1}
    assert counts(confined["facets"]["category"]) == {shelf.word: 1}

    assert (await search(shop, key, q=shelf.word, brand=shelf.brand_b))["total"] == 0
    assert (await search(shop, key, q=shelf.word, category=shelf.tablets))["total"] == 0
    assert (await search(shop, key, q=shelf.word, **{"attr.color": "blue"}))["total"] == 0
    assert (await search(shop, key, q=shelf.word, brand=[shelf.brand_a, shelf.brand_b]))["total"] == 1
    assert (await search(shop, key, q=""))["total"] == 1  # browsing without words stays inside too


async def test_a_filter_with_several_values_allows_any_of_them(shop: Client, auth_headers: Headers,
                                                                shelf: Shelf) -> None:
    key = await create_key(shop, auth_headers, filter={"brand": [shelf.brand_a, shelf.brand_b],
                                                       "attr.color": ["red"]})
    result = await search(shop, key, q=shelf.word)
    assert skus(result) == {shelf.skus[(shelf.brand_a, "phones")], shelf.skus[(shelf.brand_b, "tablets")]}
    narrowed = await search(shop, key, q=shelf.word, brand=shelf.brand_b)
    assert skus(narrowed) == {shelf.skus[(shelf.brand_b, "tablets")]}


async def test_suggestions_stay_inside_the_key(shop: Client, auth_headers: Headers, shelf: Shelf) -> None:
    key = await create_key(shop, auth_headers, filter={"category": shelf.tablets})
    everywhere = (await shop.get("/search/suggest", params={"q": shelf.word})).json()
    assert len(everywhere["products"]) == 4

    response = await shop.get("/search/suggest", params={"q": shelf.word}, headers=with_key(key))
    assert response.status_code == 200, response.text
    inside = response.json()
    assert {p["sku"] for p in inside["products"]} == {shelf.skus[(shelf.brand_a, "tablets")],
                                                      shelf.skus[(shelf.brand_b, "tablets")]}
    assert {c["value"] for c in inside["categories"]} <= {shelf.word, shelf.tablets}
    assert shelf.phones not in {c["value"] for c in inside["categories"]}


async def test_a_search_with_a_key_is_recorded_under_it(shop: Client, auth_headers: Headers, shelf: Shelf,
                                                        catalog_rows: CatalogRows) -> None:
    key = await create_key(shop, auth_headers, filter={"brand": shelf.brand_b})
    result = await search(shop, key, q=shelf.word)
    deadline = time.monotonic() + 10
    recorded = None
    while recorded is None and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        recorded = catalog_rows.scalar("SELECT search_key_id FROM search_queries WHERE query = %s AND "
                                       "search_key_id IS NOT NULL ORDER BY id DESC LIMIT 1", (result["query"],))
    assert recorded == key["id"]


# --- rate limit and required keys ---------------------------------------------------------------------------------

async def test_each_key_has_its_own_rate_limit_over_searches_and_suggestions(
        shop: Client, auth_headers: Headers, shelf: Shelf) -> None:
    limited = await create_key(shop, auth_headers, rate_limit_per_minute=3)
    other = await create_key(shop, auth_headers, rate_limit_per_minute=3)
    wait_for_fresh_window()
    params = {"q": shelf.word}
    assert (await shop.get("/search", params=params, headers=with_key(limited))).status_code == 200
    assert (await shop.get("/search/suggest", params=params, headers=with_key(limited))).status_code == 200
    assert (await shop.get("/search", params=params, headers=with_key(limited))).status_code == 200
    refused = await shop.get("/search", params=params, headers=with_key(limited))
    body = assert_error(refused, 429, "RATE_LIMITED")
    assert body["details"]["limit_per_minute"] == 3
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert_error(await shop.get("/search/suggest", params=params, headers=with_key(limited)), 429, "RATE_LIMITED")

    assert (await shop.get("/search", params=params, headers=with_key(other))).status_code == 200
    assert (await shop.get("/search", params=params)).status_code == 200  # without a key: the usual limits only


@pytest.fixture
async def key_required(database: str, settings: Settings, search_index: str) -> AsyncIterator[Client]:
    """A client on an app with CATALOG_SEARCH_REQUIRE_KEY=true, on the session's database and index."""
    async with AsyncTestClient(app=create_app(settings.model_copy(update={"search_require_key": True}))) as client:
        yield client


async def test_with_keys_required_search_and_suggest_need_one(
        key_required: Client, auth_headers: Headers, shelf: Shelf) -> None:
    for path in ("/search", "/search/suggest"):
        body = assert_error(await key_required.get(path, params={"q": shelf.word}), 401, "SEARCH_KEY_REQUIRED")
        assert "X-Search-Key" in body["message"]
    key = await create_key(key_required, auth_headers, filter={"brand": shelf.brand_a})
    assert (await search(key_required, key, q=shelf.word))["total"] == 2
    response = await key_required.get("/search/suggest", params={"q": shelf.word}, headers=with_key(key))
    assert response.status_code == 200, response.text
    assert {p["brand"] for p in response.json()["products"]} == {shelf.brand_a}


def test_keys_are_optional_unless_the_environment_requires_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CATALOG_SEARCH_REQUIRE_KEY", raising=False)
    assert Settings().search_require_key is False
    monkeypatch.setenv("CATALOG_SEARCH_REQUIRE_KEY", "true")
    assert Settings().search_require_key is True
