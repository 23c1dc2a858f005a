"""Merchandising rules against real PostgreSQL, Redis and OpenSearch: pins (skipped when not sellable), hides,
boosts, filters, which searches a rule fires for (stemmed forms, synonyms, categories, time windows), and that a
change applies at once, cached answers included."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from indexer.stream import OutboxConsumer
from tests.helpers.api import assert_error
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.search import create, ids, search, word

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


async def rule(client: Client, headers: Headers, status: int = 201, **body: Any) -> dict[str, Any]:
    response = await client.post("/search/rules", json={"name": "test rule", **body}, headers=headers("merchandiser"))
    assert response.status_code == status, response.text
    created: dict[str, Any] = response.json()
    return created


async def cached_search(client: Client, **params: Any) -> dict[str, Any]:
    return await search(client, **params)


def skus(result: dict[str, Any]) -> list[str]:
    return [item["sku"] for item in result["items"]]


async def test_rules_are_validated_named_and_audited(
        shop: Client, auth_headers: Headers, catalog_rows: CatalogRows, unique: str) -> None:
    product = await create(shop, auth_headers, name=f"{word(unique)} Lamp")
    headers = auth_headers("merchandiser")
    unknown = await shop.post("/search/rules", json={"name": "x", "when": {"query": "lamp"},
                                                     "pin": [{"sku": f"NOPE-{unique}", "position": 1}],
                                                     "hide": [product["sku"], f"GONE-{unique}"]}, headers=headers)
    body = assert_error(unknown, 400, "UNKNOWN_SKUS")
    assert body["details"]["fields"]["skus"] == sorted([f"NOPE-{unique}", f"GONE-{unique}"])
    backwards = await shop.post("/search/rules", json={
        "name": "x", "hide": [product["sku"]], "starts_at": "2027-01-02T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"},
        headers=headers)
    assert_error(backwards, 400, "VALIDATION_ERROR")
    assert_error(await shop.post("/search/rules", json={"name": "x"}, headers=headers), 400, "VALIDATION_ERROR")
    assert_error(await shop.post("/search/rules", json={"name": "x", "when": {"category": f"nowhere-{unique}"},
                                                        "hide": [product["sku"]]}, headers=headers),
                 400, "CATEGORY_NOT_FOUND")
    assert_error(await shop.post("/search/rules", json={"name": "x", "filter": {"colour": "red"}}, headers=headers),
                 400, "VALIDATION_ERROR")
    assert_error(await shop.post("/search/rules", json={"name": "x", "hide": [product["sku"]]},
                                 headers=auth_headers("analyst")), 403, "FORBIDDEN")
    assert_error(await shop.get("/search/rules/999999999", headers=headers), 404, "SEARCH_RULE_NOT_FOUND")

    created = await rule(shop, auth_headers, when={"query": f"{word(unique)} lamp"}, hide=[product["sku"]])
    assert created["in_force"]
    assert created["when"] == {"query": f"{word(unique)} lamp", "match": "exact", "category": None}
    changed = await shop.patch(f"/search/rules/{created['id']}", json={"enabled": False}, headers=headers)
    assert changed.status_code == 200 and not changed.json()["in_force"]
    assert (await shop.delete(f"/search/rules/{created['id']}", headers=headers)).status_code == 204
    audited = catalog_rows.scalar("SELECT array_agg(action ORDER BY id) FROM audit_log WHERE entity = 'search_rule' "
                                  "AND entity_id = %s", (str(created["id"]),))
    assert audited == ["create", "update", "delete"]


async def test_a_pin_takes_its_place_and_the_response_names_the_rule(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, catalog_rows: CatalogRows,
        unique: str) -> None:
    w = word(unique)
    ranked = [await create(shop, auth_headers, name=f"{w} Desk Lamp {n}") for n in range(4)]
    promoted = await create(shop, auth_headers, name=f"{w} Floor Light")  # does not even match "lamp"
    for product in [*ranked, promoted]:
        catalog_rows.stock(product["id"], on_hand=5)
    consumer.drain()
    before = await cached_search(shop, q=f"{w} lamp")
    assert promoted["sku"] not in skus(before) and before["applied_rules"] == []

    pin = await rule(shop, auth_headers, when={"query": f"{w} lamp"}, pin=[{"sku": promoted["sku"], "position": 2}])
    after = await cached_search(shop, q=f"{w} lamp")  # the cached answer is not served: the rule applies at once
    assert skus(after)[1] == promoted["sku"] and after["applied_rules"] == [pin["id"]]
    assert after["total"] == 5 and set(skus(after)) == {p["sku"] for p in [*ranked, promoted]}
    assert after["query_id"]

    # Paged: page 2 goes on where page 1 stopped, without the pin again and without skipping a ranked one.
    first = await search(shop, q=f"{w} lamp", per_page=2)
    second = await search(shop, q=f"{w} lamp", per_page=2, page=2)
    third = await search(shop, q=f"{w} lamp", per_page=2, page=3)
    paged = skus(first) + skus(second) + skus(third)
    assert paged == skus(after) and len(set(paged)) == 5


async def test_a_pin_that_goes_out_of_stock_disappears(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, catalog_rows: CatalogRows,
        unique: str) -> None:
    w = word(unique)
    ranked = await create(shop, auth_headers, name=f"{w} Toaster")
    promoted = await create(shop, auth_headers, name=f"{w} Teapot")
    draft = await create(shop, auth_headers, name=f"{w} Samovar", status="draft")
    catalog_rows.stock(promoted["id"], on_hand=1)
    catalog_rows.stock(draft["id"], on_hand=9)
    consumer.drain()
    await rule(shop, auth_headers, when={"query": f"{w} toaster"},
               pin=[{"sku": draft["sku"], "position": 1}, {"sku": promoted["sku"], "position": 1}])
    shown = await search(shop, q=f"{w} toaster")
    assert skus(shown) == [promoted["sku"], ranked["sku"]]  # the draft is skipped, the next pin takes place 1

    catalog_rows.stock(promoted["id"], on_hand=0)
    consumer.drain()
    gone = await search(shop, q=f"{w} toaster")
    assert skus(gone) == [ranked["sku"]] and gone["total"] == 1


async def test_a_rule_on_the_singular_fires_for_the_plural_and_for_synonyms(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, catalog_rows: CatalogRows,
        unique: str) -> None:
    w = word(unique)
    cases = [await create(shop, auth_headers, name=f"{w} Phone Case {n}") for n in range(3)]
    featured = cases[2]
    catalog_rows.stock(featured["id"], on_hand=3)
    consumer.drain()
    pin = await rule(shop, auth_headers, when={"query": f"{w} iphone case"},
                     pin=[{"sku": featured["sku"], "position": 1}])
    plural = await search(shop, q=f"{w.upper()} iPhone Cases")
    assert pin["id"] in plural["applied_rules"] and skus(plural)[0] == featured["sku"]
    other = await search(shop, q=f"{w} phone case")
    assert pin["id"] not in other["applied_rules"]  # exact: not another query

    contains = await rule(shop, auth_headers, when={"query": "cover", "match": "contains"},
                          pin=[{"sku": featured["sku"], "position": 1}])
    synonym = await shop.post("/synonyms", json={"terms": [f"{w}cover", "cover"]},
                              headers=auth_headers("merchandiser"))
    assert synonym.status_code == 201, synonym.text
    try:
        via_synonym = await search(shop, q=f"{w}cover {w}")
        assert contains["id"] in via_synonym["applied_rules"]
    finally:
        await shop.delete(f"/synonyms/{synonym.json()['id']}", headers=auth_headers("merchandiser"))
        await shop.delete(f"/search/rules/{contains['id']}", headers=auth_headers("merchandiser"))


async def test_hidden_products_are_never_shown_even_when_pinned(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, catalog_rows: CatalogRows,
        unique: str) -> None:
    w = word(unique)
    kept = await create(shop, auth_headers, name=f"{w} Blender")
    hidden = await create(shop, auth_headers, name=f"{w} Blender Pro", brand=f"Hush {unique}")
    catalog_rows.stock(hidden["id"], on_hand=4)
    consumer.drain()
    await rule(shop, auth_headers, when={"query": f"{w} blender"}, pin=[{"sku": hidden["sku"], "position": 1}])
    await rule(shop, auth_headers, when={"query": "blender", "match": "contains"}, hide=[hidden["sku"].lower()])
    result = await search(shop, q=f"{w} blender")
    assert skus(result) == [kept["sku"]] and result["total"] == 1
    assert f"Hush {unique}" not in {b["value"] for b in result["facets"]["brand"]}
    assert len(result["applied_rules"]) == 2


async def test_boosts_and_filters_steer_the_ranking_of_a_category(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, catalog_rows: CatalogRows,
        unique: str) -> None:
    w = word(unique)
    category = f"{w}-mugs"
    category_id = catalog_rows.category(category)
    plain = [await create(shop, auth_headers, name=f"{w} Mug {n}", brand="Plain", category_id=category_id,
                          attributes={"color": "white"}) for n in range(3)]
    star = await create(shop, auth_headers, name=f"{w} Mug Star", brand=f"Star {unique}", category_id=category_id,
                        attributes={"color": "blue"})
    consumer.drain()
    browse = await search(shop, category=category)
    assert ids(browse)[-1] == star["id"]  # by id, without rules

    boost = await rule(shop, auth_headers, when={"category": category},
                       boost=[{"filter": {"brand": f"Star {unique}"}, "weight": 5}])
    boosted = await search(shop, category=category)
    assert ids(boosted)[0] == star["id"] and boosted["applied_rules"] == [boost["id"]]
    text_boosted = await search(shop, q=f"{w} mug", category=category)
    assert ids(text_boosted)[0] == star["id"]
    by_price = await search(shop, category=category, sort="price_asc")  # an explicit sort is not re-ranked
    assert by_price["applied_rules"] == [boost["id"]]

    narrowed = await rule(shop, auth_headers, when={"query": f"{w} white mug"}, filter={"attr.color": "white"})
    white = await search(shop, q=f"{w} white mug")
    assert set(ids(white)) == {p["id"] for p in plain} and narrowed["id"] in white["applied_rules"]
    assert {v["value"] for v in white["facets"]["attributes"]["color"]} == {"white"}


async def test_a_rule_applies_only_within_its_time_window(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, catalog_rows: CatalogRows,
        unique: str) -> None:
    w = word(unique)
    await create(shop, auth_headers, name=f"{w} Scarf")
    promoted = await create(shop, auth_headers, name=f"{w} Gloves")
    catalog_rows.stock(promoted["id"], on_hand=2)
    consumer.drain()
    now = datetime.now(UTC)
    ended = await rule(shop, auth_headers, when={"query": f"{w} scarf"}, pin=[{"sku": promoted["sku"], "position": 1}],
                       starts_at=(now - timedelta(days=2)).isoformat(), ends_at=(now - timedelta(days=1)).isoformat())
    soon = await rule(shop, auth_headers, when={"query": f"{w} scarf"}, pin=[{"sku": promoted["sku"], "position": 1}],
                      starts_at=(now + timedelta(seconds=2)).isoformat())
    assert not ended["in_force"] and not soon["in_force"]
    before = await cached_search(shop, q=f"{w} scarf")
    assert promoted["sku"] not in skus(before) and before["applied_rules"] == []
    await asyncio.sleep(max(0.0, (now + timedelta(seconds=2.2) - datetime.now(UTC)).total_seconds()))
    started = await cached_search(shop, q=f"{w} scarf")  # nothing changed but the clock: not the cached answer
    assert skus(started)[0] == promoted["sku"] and started["applied_rules"] == [soon["id"]]


async def test_the_preview_shows_the_rules_that_fired_and_why_each_hit_ranks_there(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, catalog_rows: CatalogRows,
        unique: str) -> None:
    w = word(unique)
    plain = await create(shop, auth_headers, name=f"{w} Rice Cooker Basic", brand="Plain")
    boosted = await create(shop, auth_headers, name=f"{w} Rice Cooker Deluxe", brand=f"Zen {unique}")
    promoted = await create(shop, auth_headers, name=f"{w} Steamer")
    catalog_rows.stock(boosted["id"], on_hand=3)
    catalog_rows.stock(promoted["id"], on_hand=3)
    consumer.drain()
    boost = await rule(shop, auth_headers, name="zen first", when={"query": f"{w} rice cooker"},
                       boost=[{"filter": {"brand": f"Zen {unique}"}, "weight": 3}])
    pin = await rule(shop, auth_headers, name="steamer on top", when={"query": "cooker", "match": "contains"},
                     pin=[{"sku": promoted["sku"], "position": 1}])
    assert_error(await shop.get("/search/preview", params={"q": "x"}), 401, "NOT_AUTHENTICATED")
    response = await shop.get("/search/preview", params={"q": f"{w} rice cooker"}, headers=auth_headers("analyst"))
    assert response.status_code == 200, response.text
    preview = response.json()
    assert [r["id"] for r in preview["rules"]] == [boost["id"], pin["id"]]
    assert preview["rules"][0]["name"] == "zen first"
    assert [i["id"] for i in preview["search"]["items"]] == [promoted["id"], boosted["id"], plain["id"]]
    first, second, third = preview["explanations"]
    assert first["pinned"] and first["pinned_by"] == pin["id"] and first["score"] is None and first["factors"] == []
    assert second["pinned_by"] is None and preview["search"]["took_ms"] > 0
    reasons = {factor["reason"]: factor for factor in second["factors"]}
    assert reasons[f"boost of rule {boost['id']}"]["weight"] == 3 and "in stock" in reasons
    assert not third["pinned"] and all("boost" not in factor["reason"] for factor in third["factors"])
    for explained in (second, third):
        product = 1.0
        for factor in explained["factors"]:
            product *= factor["weight"]
        assert abs(explained["text_match"] * product - explained["score"]) < 1e-3 * explained["score"]
    assert preview["search"]["applied_rules"] == [boost["id"], pin["id"]]
