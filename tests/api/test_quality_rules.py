"""/quality rules: a rule change re-scores only the affected products in the background, duplicates and unknown
ids are refused, bad rules and queries are 400 naming the field, and who may read and write.

Rules and categories are crafted per test under a unique root category; the catalog-wide default rules of
migration 0002 (brand, description >= 50 chars, images, price, category; weight 1 each) apply to all of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.quality.background import wait_for_recomputes
from tests.helpers.api import assert_error
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.quality import (
    FULL,
    POLL_SECONDS,
    create,
    eventually,
    get_ok,
    product,
)

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


# --- rule changes re-score only the affected products, in the background ----------------------------------------


async def test_a_rule_change_rescores_only_the_affected_products(client: Client, auth_headers: Headers,
                                                                 catalog_rows: CatalogRows) -> None:
    token = uuid.uuid4().hex[:8]
    root = catalog_rows.category(f"r{token}")
    ruled = catalog_rows.category(f"r{token}/ruled")
    deep = catalog_rows.category(f"r{token}/ruled/deep")
    sibling = catalog_rows.category(f"r{token}/sibling")
    complete = {**FULL, "brand": "Acme", "attributes": {}}
    lacking = await create(client, auth_headers, category_id=ruled, **complete)
    below = await create(client, auth_headers, category_id=deep, **complete)
    unchanged = await create(client, auth_headers, category_id=ruled, **{**complete, "attributes": {"material": "oak"}})
    outside = await create(client, auth_headers, category_id=sibling, **complete)
    above = await create(client, auth_headers, category_id=root, **complete)
    assert {p["completeness"] for p in (lacking, below, unchanged, outside, above)} == {100}

    response = await client.post("/quality/rules", json={"category_id": ruled, "field": "attributes.material"},
                                 headers=auth_headers("merchandiser"))
    assert response.status_code == 201, response.text
    rule = response.json()
    assert (rule["category_id"], rule["field"], rule["weight"], rule["recompute"]) == (
        ruled, "attributes.material", 1.0, "scheduled")
    assert response.headers["x-quality-recompute"] == "scheduled"

    async def rescored(ids: tuple[int, ...], completeness: int) -> bool:
        scores = [(await product(client, auth_headers, i))["completeness"] for i in ids]
        return scores == [completeness] * len(ids)

    await eventually(lambda: rescored((lacking["id"], below["id"]), 83), "the re-score after adding the rule")
    assert await wait_for_recomputes(POLL_SECONDS)
    for before in (lacking, below):
        after = await product(client, auth_headers, before["id"])
        assert after["missing_fields"] == ["attributes.material"]  # 5 of 6 rules -> 83
        assert after["version"] == before["version"] + 1
    for before in (unchanged, outside, above):
        after = await product(client, auth_headers, before["id"])
        assert (after["completeness"], after["missing_fields"], after["version"]) == (100, [], before["version"])
    rules = (await get_ok(client, auth_headers, "/quality/rules", category_id=deep)).json()["rules"]
    material = next(r for r in rules if r["field"] == "attributes.material")
    assert (material["id"], material["inherited"], material["defined_in"]["id"]) == (rule["id"], True, ruled)

    response = await client.delete(f"/quality/rules/{rule['id']}", headers=auth_headers("admin"))
    assert response.status_code == 204
    assert response.headers["x-quality-recompute"] == "scheduled"
    await eventually(lambda: rescored((lacking["id"], below["id"]), 100), "the re-score after deleting the rule")
    assert await wait_for_recomputes(POLL_SECONDS)
    assert (await product(client, auth_headers, outside["id"]))["version"] == outside["version"]
    assert (await product(client, auth_headers, lacking["id"]))["missing_fields"] == []


async def test_rule_writes_refuse_duplicates_and_unknown_ids(client: Client, auth_headers: Headers,
                                                             catalog_rows: CatalogRows) -> None:
    category = catalog_rows.category(f"d{uuid.uuid4().hex[:8]}")
    body = {"category_id": category, "field": "description", "min_length": 200, "weight": 1.5}
    first = await client.post("/quality/rules", json=body, headers=auth_headers("admin"))
    assert first.status_code == 201, first.text
    assert (first.json()["min_length"], first.json()["weight"]) == (200, 1.5)
    again = await client.post("/quality/rules", json=body, headers=auth_headers("admin"))
    assert_error(again, 409, "QUALITY_RULE_EXISTS")
    assert (await client.delete(f"/quality/rules/{first.json()['id']}", headers=auth_headers("admin"))
            ).status_code == 204
    assert_error(await client.delete(f"/quality/rules/{first.json()['id']}", headers=auth_headers("admin")),
                 404, "QUALITY_RULE_NOT_FOUND")
    assert await wait_for_recomputes(POLL_SECONDS)


# --- bad input -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"field": "colour"}, "UNKNOWN_QUALITY_FIELD", "field"),
    ({"field": "attributes.Screen Size"}, "UNKNOWN_QUALITY_FIELD", "field"),
    ({"field": "price", "min_length": 3}, "VALIDATION_ERROR", "min_length"),
    ({"field": "brand", "weight": 0}, "VALIDATION_ERROR", "weight"),
    ({"field": "brand", "weight": "1.001"}, "VALIDATION_ERROR", "weight"),
    ({"field": "brand", "category_id": 999_999_999}, "CATEGORY_NOT_FOUND", "category_id"),
    ({"field": "brand", "min_length": 0}, "VALIDATION_ERROR", "min_length"),
    ({"field": "brand", "extra": 1}, "VALIDATION_ERROR", "extra"),
])
async def test_bad_rules_are_400_naming_the_field(client: Client, auth_headers: Headers, body: dict[str, Any],
                                                  code: str, field: str) -> None:
    response = await client.post("/quality/rules", json=body, headers=auth_headers("merchandiser"))
    fields = assert_error(response, 400, code)["details"]["fields"]
    assert any(field in key or field in str(message) for key, message in fields.items()), fields


@pytest.mark.parametrize(("path", "params", "code", "field"), [
    ("/quality/products", {"missing": "colour"}, "UNKNOWN_QUALITY_FIELD", "missing"),
    ("/quality/products", {"max_completeness": 101}, "VALIDATION_ERROR", "max_completeness"),
    ("/quality/products", {"category_id": 999_999_999}, "CATEGORY_NOT_FOUND", "category_id"),
    ("/quality/duplicates", {"similarity": 0.3}, "VALIDATION_ERROR", "similarity"),
    ("/quality/duplicates", {"similarity": 1.5}, "VALIDATION_ERROR", "similarity"),
    ("/quality/duplicates", {"reason": "same_color"}, "VALIDATION_ERROR", "reason"),
    ("/quality/summary", {"category_id": 999_999_999}, "CATEGORY_NOT_FOUND", "category_id"),
    ("/quality/trend", {"since": "2024-02-01", "until": "2024-01-01"}, "VALIDATION_ERROR", "since"),
    ("/quality/trend", {"since": "yesterday"}, "VALIDATION_ERROR", "since"),
])
async def test_bad_queries_are_400_naming_the_parameter(client: Client, auth_headers: Headers, path: str,
                                                        params: dict[str, Any], code: str, field: str) -> None:
    response = await client.get(path, params=params, headers=auth_headers("analyst"))
    fields = assert_error(response, 400, code)["details"]["fields"]
    assert field in fields, fields


async def test_similar_to_an_unknown_product_is_404(client: Client, auth_headers: Headers) -> None:
    response = await client.get("/quality/products/999999999/similar", headers=auth_headers("analyst"))
    assert_error(response, 404, "PRODUCT_NOT_FOUND")


# --- who may do what -------------------------------------------------------------------------------------------

READS = ["/quality/products", "/quality/summary", "/quality/duplicates", "/quality/trend", "/quality/rules"]


@pytest.mark.parametrize("path", READS)
async def test_reads_are_for_staff_only(client: Client, auth_headers: Headers, path: str) -> None:
    for role in ("admin", "merchandiser", "analyst"):
        assert (await client.get(path, headers=auth_headers(role))).status_code == 200, role
    assert_error(await client.get(path, headers=auth_headers("customer")), 403, "FORBIDDEN")
    assert_error(await client.get(path), 401, "NOT_AUTHENTICATED")


@pytest.mark.parametrize(("method", "path"), [("POST", "/quality/rules"), ("DELETE", "/quality/rules/1")])
async def test_rule_writes_are_for_admins_and_merchandisers(client: Client, auth_headers: Headers, method: str,
                                                            path: str) -> None:
    body = {"field": "attributes.never_written"}
    for role in ("analyst", "customer"):
        response = await client.request(method, path, json=body, headers=auth_headers(role))
        assert_error(response, 403, "FORBIDDEN")
    assert_error(await client.request(method, path, json=body), 401, "NOT_AUTHENTICATED")
