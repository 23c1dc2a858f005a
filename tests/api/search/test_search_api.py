"""Storefront search ranking against real PostgreSQL, Redis and OpenSearch: products go in through the API,
the indexer drains the outbox in-process, and the shopper's view is asserted through GET /search."""

from __future__ import annotations

from collections.abc import Callable

from litestar import Litestar
from litestar.testing import AsyncTestClient

from indexer.stream import OutboxConsumer
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.search import create, ids, search, typo, word

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
    alpha, bravo, charlie = (f"{name}{w}" for name in ("alpha", "bravo", "charlie"))  # words no other test has
    two = await create(shop, auth_headers, name=f"{w} {alpha.title()} {bravo.title()}", **PLAIN)
    one = await create(shop, auth_headers, name=f"{w} {charlie.title()}", **PLAIN)
    consumer.drain()
    result = await search(shop, q=f"{w} {alpha} {bravo} {charlie}")
    assert result["relaxed"] == {"dropped": [], "any_word": True}
    assert ids(result) == [two["id"], one["id"]]
    nothing = await search(shop, q=f"{word(unique[::-1])} {word(unique[3:] + unique[:3])}")
    assert nothing["total"] == 0 and nothing["relaxed"] is None  # zero only when no word matches anything


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
