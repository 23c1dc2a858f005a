"""Category attribute definitions: PUT replaces the set, invalid and malformed definitions are 400, and
required attributes re-score the products below, also after a move."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.helpers.api import assert_error
from tests.helpers.categories import get_json, make_category, make_product, patch

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


ATTRIBUTES = [
    {
        "name": "material",
        "type": "string",
        "allowed_values": ["steel", "plastic"],
        "required": True,
        "facetable": True,
    },
    {"name": "wattage", "type": "number", "allowed_values": None, "required": False, "facetable": False},
]


async def test_attributes_put_replaces_the_set(client: Client, auth_headers: Headers, unique: str) -> None:
    category = await make_category(client, auth_headers, f"attr-{unique}")
    url = f"/categories/{category['id']}/attributes"
    assert await get_json(client, auth_headers, url) == []

    response = await client.put(url, json=ATTRIBUTES, headers=auth_headers("merchandiser"))
    assert response.status_code == 200, response.text
    assert response.json() == ATTRIBUTES
    assert await get_json(client, auth_headers, url) == ATTRIBUTES

    replacement = [{"name": "cordless", "type": "boolean"}]
    response = await client.put(url, json=replacement, headers=auth_headers("merchandiser"))
    assert response.json() == [
        {"name": "cordless", "type": "boolean", "allowed_values": None, "required": False, "facetable": True}
    ]
    assert (await client.put(url, json=[], headers=auth_headers("merchandiser"))).json() == []


@pytest.mark.parametrize(
    ("definitions", "field"),
    [
        ([{"name": "a"}, {"name": "a"}], "[1].name"),
        ([{"name": "size", "type": "number", "allowed_values": ["big"]}], "[0].allowed_values"),
        ([{"name": "size", "type": "number", "allowed_values": [True]}], "[0].allowed_values"),
        ([{"name": "size", "allowed_values": []}], "[0].allowed_values"),
        ([{"name": "size", "allowed_values": ["s", "s"]}], "[0].allowed_values"),
    ],
)
async def test_invalid_attribute_definitions_are_400(
    client: Client, auth_headers: Headers, unique: str, definitions: list[dict[str, Any]], field: str
) -> None:
    category = await make_category(client, auth_headers, f"bad-{unique}")
    response = await client.put(
        f"/categories/{category['id']}/attributes", json=definitions, headers=auth_headers("merchandiser")
    )
    assert field in assert_error(response, 400, "INVALID_ATTRIBUTE_DEFINITIONS")["details"]["fields"]


@pytest.mark.parametrize(
    "definition", [{"name": "Bad Name"}, {"name": "x", "type": "date"}, {"type": "string"}]
)
async def test_malformed_attribute_definitions_are_400(
    client: Client, auth_headers: Headers, unique: str, definition: dict[str, Any]
) -> None:
    category = await make_category(client, auth_headers, f"mal-{unique}")
    response = await client.put(
        f"/categories/{category['id']}/attributes", json=[definition], headers=auth_headers("merchandiser")
    )
    assert_error(response, 400, "VALIDATION_ERROR")


async def test_required_attributes_rescore_the_products_below(
    client: Client, auth_headers: Headers, unique: str
) -> None:
    root = await make_category(client, auth_headers, f"score-{unique}")
    child = await make_category(client, auth_headers, "child", root["id"])
    product = await make_product(client, auth_headers, child["id"], attributes={"color": "red"})
    assert "attributes.material" not in product["missing_fields"]

    response = await client.put(
        f"/categories/{root['id']}/attributes", json=ATTRIBUTES, headers=auth_headers("merchandiser")
    )
    assert response.status_code == 200, response.text
    after = await get_json(client, auth_headers, f"/products/{product['id']}")
    assert "attributes.material" in after["missing_fields"]
    assert after["completeness"] < product["completeness"]


async def test_moving_under_a_category_with_required_attributes_rescores(
    client: Client, auth_headers: Headers, unique: str
) -> None:
    strict = await make_category(client, auth_headers, f"strict-{unique}")
    await client.put(f"/categories/{strict['id']}/attributes", json=ATTRIBUTES, headers=auth_headers("admin"))
    loose = await make_category(client, auth_headers, f"loose-{unique}")
    product = await make_product(client, auth_headers, loose["id"])
    assert "attributes.material" not in product["missing_fields"]

    assert (await patch(client, auth_headers, loose["id"], parent_id=strict["id"])).status_code == 200
    after = await get_json(client, auth_headers, f"/products/{product['id']}")
    assert "attributes.material" in after["missing_fields"]
