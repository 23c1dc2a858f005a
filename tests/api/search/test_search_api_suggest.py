"""Storefront suggestions (first characters, a typo) and bad input: 400 naming the field, any characters in q
are safe."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from indexer.stream import OutboxConsumer
from tests.helpers.api import assert_error
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.search import create, typo, word

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


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
