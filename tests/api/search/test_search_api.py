"""Storefront search against real PostgreSQL, Redis and OpenSearch: products go in through the API, the
indexer drains the outbox in-process, and the shopper's view is asserted through GET /search."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from api.search.cache import ResponseCache
from indexer.stream import OutboxConsumer
from tests.helpers.api import assert_error
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.search import counts, create, ids, search, typo, word

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


# --- relevance --------------------------------------------------------------------------------------------

async def test_exact_name_typo_and_sku_queries_rank_the_right_product_first(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, unique: str) -> None:
    w = word(unique)
    machine = await create(shop, auth_headers, name=f"{w} Espresso Machine", brand=f"Brand {unique}")
    grinder = await create(shop, auth_headers, name=f"{w} Espresso Grinder", brand=f"Brand {unique}",
                           sku=f"GR-{unique.upper()}")
    frother = await create(shop, auth_headers, name=f"{w} Milk Frother", description="Froths milk for espresso.",
                           brand=f"Brand {unique}")
    consumer.drain()

    exact = await search(shop, q=f"{w} espresso machine")
    assert ids(exact)[0] == machine["id"]
    assert "<em>" in exact["items"][0]["highlights"]["name"][0]

    with_typo = await search(shop, q=f"{typo(w)} espresso machine")
    assert ids(with_typo)[0] == machine["id"]

    by_sku = await search(shop, q=grinder["sku"].lower())
    assert ids(by_sku)[0] == grinder["id"]

    by_word = await search(shop, q=w)
    assert set(ids(by_word)) == {machine["id"], grinder["id"], frother["id"]}
    item = by_word["items"][0]
    assert set(item) == {"id", "sku", "name", "brand", "price", "currency", "category_path", "in_stock",
                         "available", "image", "highlights", "score"}


async def test_a_category_word_ranks_that_categorys_products_above_model_numbers_containing_it(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, catalog_rows: CatalogRows,
        unique: str) -> None:
    w = word(unique)
    televisions = catalog_rows.category(f"{w}/tv-video/televisions")  # names: ..., "Tv Video", "Televisions"
    tablets = catalog_rows.category(f"{w}/computers/tablets")
    television = await create(shop, auth_headers, name='LG Vision WT21J65T 55" HD QLED TV', brand="LG",
                              description="A bright panel.", category_id=televisions)
    tablet = await create(shop, auth_headers, name='Microsoft Air TV-C4976 10.9" 64GB', brand="Microsoft",
                          description="A light slate.", category_id=tablets)
    consumer.drain()

    result = await search(shop, q="tv", category=w)
    assert ids(result) == [television["id"], tablet["id"]]
    exact = await search(shop, q='Microsoft Air TV-C4976 10.9" 64GB', category=w)
    assert ids(exact)[0] == tablet["id"]


async def test_availability_breaks_ties_but_never_beats_a_clearly_better_match(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, catalog_rows: CatalogRows,
        unique: str) -> None:
    w = word(unique)
    best_match = await create(shop, auth_headers, name=f"{w} Teapot")  # out of stock
    weak_match = await create(shop, auth_headers, name=f"{w} Cup", description="Pairs with a teapot.")
    catalog_rows.stock(weak_match["id"], on_hand=3)
    twin_out = await create(shop, auth_headers, name=f"{w} Kettle")
    twin_in = await create(shop, auth_headers, name=f"{w} Kettle")
    catalog_rows.stock(twin_in["id"], on_hand=2)
    consumer.drain()

    result = await search(shop, q=f"{w} teapot")
    assert ids(result) == [best_match["id"], weak_match["id"]]  # the product named comes first, in stock or not
    assert [item["in_stock"] for item in result["items"]] == [False, True]
    twins = await search(shop, q=f"{w} kettle")
    assert ids(twins)[:2] == [twin_in["id"], twin_out["id"]]  # equally relevant: the sellable one first
    by_price = await search(shop, q=f"{w} teapot", sort="price_desc")
    assert set(ids(by_price)) == {weak_match["id"], best_match["id"]}


PLAIN = {"description": "Plain.", "brand": "Acme", "attributes": {}}


async def test_a_word_no_product_has_is_dropped_and_the_response_says_so(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, unique: str) -> None:
    w = word(unique)
    case = await create(shop, auth_headers, name=f"{w} Phone Case", **PLAIN)
    consumer.drain()
    absent = word(unique[::-1]), word(unique[3:] + unique[:3])  # letters no product has
    result = await search(shop, q=f"{w} case {absent[0]} {absent[1]}")
    assert ids(result) == [case["id"]]
    assert result["relaxed"] == {"dropped": list(absent), "any_word": False}
    assert (await search(shop, q=f"{w} case"))["relaxed"] is None


async def test_when_the_words_never_meet_products_matching_more_of_them_come_first(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, unique: str) -> None:
    w = word(unique)
    two = await create(shop, auth_headers, name=f"{w} Alpha Bravo", **PLAIN)
    one = await create(shop, auth_headers, name=f"{w} Charlie", **PLAIN)
    consumer.drain()
    result = await search(shop, q=f"{w} alpha bravo charlie")
    assert result["relaxed"] == {"dropped": [], "any_word": True}
    assert ids(result) == [two["id"], one["id"]]
    nothing = await search(shop, q=f"{word(unique[::-1])} {word(unique[3:] + unique[:3])}")
    assert nothing["total"] == 0 and nothing["relaxed"] is None  # zero only when no word matches anything


async def test_a_brand_query_ranks_the_brands_own_products_above_ones_that_mention_it(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, unique: str) -> None:
    w = word(unique)
    mentions = await create(shop, auth_headers, name=f"Card reader for {w}box cases", description="Plain.",
                            brand="Acme", attributes={})
    own = await create(shop, auth_headers, name="Defender Series Case", description="Plain.", brand=f"{w}box",
                       attributes={})
    consumer.drain()
    assert ids(await search(shop, q=f"{w}box")) == [own["id"], mentions["id"]]


async def test_words_in_attribute_values_and_codes_without_punctuation_match(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, unique: str) -> None:
    w = word(unique)
    charger = await create(shop, auth_headers, name=f"{w} Charging Pad", description="Plain.", brand="Acme",
                           attributes={"charging": "Qi wireless"})
    phone = await create(shop, auth_headers, name=f"{w} Galaxy SM-G930V", sku=f"54-{w.upper()}3014", **PLAIN)
    consumer.drain()
    assert ids(await search(shop, q=f"{w} wireless")) == [charger["id"]]
    for typed in (f"54{w}3014", f"54-{w}3014", f"54 {w}3014"):
        assert ids(await search(shop, q=typed))[:1] == [phone["id"]], typed
    for typed in ("smg930v", "SM-G930V"):
        assert ids(await search(shop, q=f"{w} {typed}"))[:1] == [phone["id"]], typed


async def test_the_exact_name_typed_comes_first_even_out_of_stock(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, catalog_rows: CatalogRows,
        unique: str) -> None:
    w = word(unique)
    frost = await create(shop, auth_headers, name=f"{w} NGP Soft Shell Case - Frost", **PLAIN)
    others = [await create(shop, auth_headers, name=f"{w} NGP Soft Shell Case - {color}", **PLAIN)
              for color in ("Black", "Blue", "Frost White")]
    for other in others:
        catalog_rows.stock(other["id"], on_hand=5)
    consumer.drain()
    assert ids(await search(shop, q=f"{w} NGP Soft Shell Case - Frost"))[0] == frost["id"]
    assert ids(await search(shop, q=f"{w} ngp soft shell case frost"))[0] == frost["id"]


async def test_drafts_and_archived_products_are_never_returned(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, unique: str) -> None:
    w = word(unique)
    active = await create(shop, auth_headers, name=f"{w} Lamp")
    draft = await create(shop, auth_headers, name=f"{w} Lamp Draft", status="draft")
    archived = await create(shop, auth_headers, name=f"{w} Lamp Old", status="archived")
    consumer.drain()

    result = await search(shop, q=f"{w} lamp")
    assert ids(result) == [active["id"]]
    assert result["total"] == 1
    assert draft["id"] not in ids(await search(shop, q=f"{w} lamp draft"))
    assert archived["id"] not in ids(await search(shop, q=f"{w} lamp old"))


async def test_did_you_mean_corrects_a_query_without_results(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, unique: str) -> None:
    w = word(unique)
    tapir = await create(shop, auth_headers, name=f"{w} Tapir Plush")
    consumer.drain()

    result = await search(shop, q=f"{w} tpaor")  # two edits in a five-letter word: beyond typo tolerance
    assert result["did_you_mean"] == f"{w} tapir"
    assert result["corrected"] is True
    assert ids(result) == [tapir["id"]]


# --- facets -------------------------------------------------------------------------------------------------

@pytest.fixture
async def facet_catalog(shop: Client, auth_headers: Headers, consumer: OutboxConsumer,
                        catalog_rows: CatalogRows, unique: str) -> dict[str, Any]:
    """A small category tree with two brands, colours, sizes, stock and one draft."""
    root = f"shop-{unique}"
    tv = catalog_rows.category(f"{root}/tv")
    audio = catalog_rows.category(f"{root}/audio")
    root_id = catalog_rows.category(root)
    catalog_rows.conn.execute(
        "INSERT INTO category_attributes (category_id, name, type, facetable) VALUES "
        "(%s, 'color', 'string', true), (%s, 'size', 'string', false)", (root_id, root_id))
    a, b = f"Alpha {unique}", f"Beta {unique}"
    specs = [(tv, a, "red", 3), (tv, a, "blue", 0), (tv, b, "red", 5), (audio, b, "black", 0),
             (audio, a, "red", 1)]
    made: list[dict[str, Any]] = []
    for category, brand, color, stock in specs:
        product = await create(shop, auth_headers, name=f"{word(unique)} Device", brand=brand, category_id=category,
                               attributes={"color": color, "size": "m"}, price=50 + len(made) * 100)
        if stock:
            catalog_rows.stock(product["id"], on_hand=stock)
        made.append(product)
    await create(shop, auth_headers, name="Draft device", brand=b, category_id=tv, status="draft",
                 attributes={"color": "red"})
    consumer.drain()
    return {"root": root, "brands": (a, b), "products": made}


def sql_counts(rows: CatalogRows, group: str, root: str, where: str = "true") -> dict[str, int]:
    """Counts straight from PostgreSQL: active products under `root`, grouped by an SQL expression."""
    sql = f"""
        SELECT {group} AS value, count(*) FROM products p JOIN categories c ON c.id = p.category_id
        LEFT JOIN (SELECT product_id, sum(on_hand - reserved) AS available FROM inventory GROUP BY product_id) s
          ON s.product_id = p.id
        WHERE p.status = 'active' AND (c.path = %(root)s OR c.path LIKE %(prefix)s) AND {where}
        GROUP BY 1"""
    found = rows.conn.execute(sql, {"root": root, "prefix": root + "/%"}).fetchall()
    return {str(value): int(count) for value, count in found}


async def test_facet_counts_equal_postgresql_counts(shop: Client, facet_catalog: dict[str, Any],
                                                    catalog_rows: CatalogRows) -> None:
    root = facet_catalog["root"]
    result = await search(shop, category=root)
    facets = result["facets"]

    assert result["total"] == sum(sql_counts(catalog_rows, "'all'", root).values()) == 5
    assert counts(facets["brand"]) == sql_counts(catalog_rows, "p.brand", root)
    assert {c["value"]: c["count"] for c in facets["category"]} == sql_counts(catalog_rows, "c.path", root)
    assert {c["name"] for c in facets["category"]} == {"Tv", "Audio"}
    assert counts(facets["attributes"]["color"]) == sql_counts(catalog_rows, "p.attributes->>'color'", root)
    assert "size" not in facets["attributes"]  # defined on the category as not facetable
    in_stock = sql_counts(catalog_rows, "CASE WHEN s.available > 0 THEN 'true' ELSE 'false' END", root)
    assert facets["availability"] == {"in_stock": in_stock.get("true", 0), "out_of_stock": in_stock.get("false", 0)}
    prices = catalog_rows.conn.execute(
        "SELECT min(price), max(price) FROM products p JOIN categories c ON c.id = p.category_id "
        "WHERE p.status = 'active' AND c.path LIKE %s", (root + "%",)).fetchone()
    assert prices is not None
    assert (facets["price"]["min"], facets["price"]["max"]) == (float(prices[0]), float(prices[1]))
    assert sum(r["count"] for r in facets["price"]["ranges"]) == 5

    tv = await search(shop, category=f"{root}/tv")
    assert tv["total"] == 3
    assert "color" in tv["facets"]["attributes"]  # inherited from the parent category's definitions


async def test_facets_are_disjunctive(shop: Client, facet_catalog: dict[str, Any],
                                      catalog_rows: CatalogRows) -> None:
    root = facet_catalog["root"]
    alpha, beta = facet_catalog["brands"]
    everything = await search(shop, category=root)

    only_alpha = await search(shop, category=root, brand=alpha)
    assert only_alpha["total"] == sql_counts(catalog_rows, "p.brand", root)[alpha] == 3
    assert counts(only_alpha["facets"]["brand"]) == counts(everything["facets"]["brand"])  # Beta still counted
    assert counts(only_alpha["facets"]["attributes"]["color"]) == sql_counts(
        catalog_rows, "p.attributes->>'color'", root, f"p.brand = '{alpha}'")

    red_alpha = await search(shop, **{"category": root, "brand": alpha, "attr.color": "red"})
    assert red_alpha["total"] == 2
    assert counts(red_alpha["facets"]["attributes"]["color"]) == {"red": 2, "blue": 1}
    assert counts(red_alpha["facets"]["brand"]) == {alpha: 2, beta: 1}

    both_colors = await shop.get("/search", params=[("category", root), ("attr.color", "red"),
                                                    ("attr.color", "blue")])
    assert both_colors.json()["total"] == 4
    in_stock = await search(shop, category=root, in_stock="true", price_max=300)
    assert in_stock["total"] == 2
    assert in_stock["facets"]["availability"]["out_of_stock"] == 1


async def test_cursor_pages_through_everything_once(shop: Client, facet_catalog: dict[str, Any]) -> None:
    root = facet_catalog["root"]
    seen: list[int] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"category": root, "per_page": 2, "sort": "price_asc"}
        if cursor:
            params["cursor"] = cursor
        page = await search(shop, **params)
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(p["id"] for p in facet_catalog["products"])
    assert len(seen) == len(set(seen))


async def test_browsing_lists_in_stock_products_first_and_its_cursor_pages_through_everything_once(
        shop: Client, facet_catalog: dict[str, Any]) -> None:
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"category": facet_catalog["root"], "per_page": 2}  # sort: relevance
        if cursor:
            params["cursor"] = cursor
        page = await search(shop, **params)
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(item["id"] for item in seen) == sorted(p["id"] for p in facet_catalog["products"])
    assert [item["in_stock"] for item in seen] == [True, True, True, False, False]


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


# --- suggestions and bad input ---------------------------------------------------------------------------------

async def test_suggest_from_first_characters_and_with_a_typo(
        shop: Client, auth_headers: Headers, consumer: OutboxConsumer, catalog_rows: CatalogRows,
        unique: str) -> None:
    w = word(unique)
    category = catalog_rows.category(f"{w}-gear/{w}-tents")
    tent = await create(shop, auth_headers, name=f"{w} Dome Tent", brand=f"{w.title()} Outdoors",
                        category_id=category)
    consumer.drain()

    prefix = (await shop.get("/search/suggest", params={"q": w[:6]})).json()
    assert [p["id"] for p in prefix["products"]] == [tent["id"]]
    assert [b["value"] for b in prefix["brands"]] == [f"{w.title()} Outdoors"]
    assert {c["value"] for c in prefix["categories"]} == {f"{w}-gear", f"{w}-gear/{w}-tents"}
    with_typo = (await shop.get("/search/suggest", params={"q": f"{typo(w)} dome"})).json()
    assert [p["id"] for p in with_typo["products"]] == [tent["id"]]
    typing_a_typo = (await shop.get("/search/suggest", params={"q": f"{w} dmo"})).json()  # "dom..." mistyped
    assert [p["id"] for p in typing_a_typo["products"]] == [tent["id"]]


@pytest.mark.parametrize(("params", "field"), [
    ({"sort": "cheapest"}, "sort"),
    ({"colour": "red"}, "colour"),
    ({"per_page": "101"}, "per_page"),
    ({"q": "x" * 257}, "q"),
    ({"page": "600"}, "page"),
    ({"cursor": "!!nope"}, "cursor"),
    ({"page": "two"}, "page"),
    ({"attr.Color": "red"}, "attr.Color"),
])
async def test_bad_input_is_400_naming_the_field(shop: Client, params: dict[str, str], field: str) -> None:
    body = assert_error(await shop.get("/search", params=params), 400, "VALIDATION_ERROR")
    assert field in body["details"]["fields"]


@pytest.mark.parametrize("q", ['"(*:)\\', "title:(a OR b)~2^3", "*", "\\", "🛒 <script>", "a/b[c]{d}"])
async def test_any_characters_in_q_are_safe(shop: Client, q: str) -> None:
    response = await shop.get("/search", params={"q": q})
    assert response.status_code == 200, response.text
    assert (await shop.get("/search/suggest", params={"q": q})).status_code == 200
