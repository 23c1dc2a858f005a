"""The /quality routes: exact scores and missing fields, worklist filters, summaries against SQL, rule changes
re-scoring only the affected products in the background, duplicates, trends, the CLI and the daily snapshot task.

Rules and categories are crafted per test under a unique root category; the catalog-wide default rules of
migration 0002 (brand, description >= 50 chars, images, price, category; weight 1 each) apply to all of them.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from api.quality.background import quality_lifespan, seconds_until_next_snapshot, wait_for_recomputes
from catalog.settings import Settings
from db import quality
from tests.helpers.api import assert_error
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.quality import (
    FULL,
    LONG_TEXT,
    POLL_SECONDS,
    add_required_attribute,
    add_rule,
    create,
    eventually,
    get_ok,
    product,
)

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]

# --- a crafted catalog: one root, one child with its own rules ------------------------------------------------


@dataclass
class Crafted:
    root: int
    tvs: int
    brand: str
    ids: dict[str, int]


@pytest.fixture(scope="module")
async def crafted(client: Client, auth_headers: Headers, settings: Settings) -> Crafted:
    """Under `q<token>`: tvs add `attributes.energy_class` (weight 2) and require `screen_size` (weight 1), so
    a TV is scored on weight 8 and a root product on the 5 default rules."""
    rows = CatalogRows(settings.postgres_dsn)
    token = uuid.uuid4().hex[:8]
    root = rows.category(f"q{token}")
    tvs = rows.category(f"q{token}/tvs")
    add_rule(rows, tvs, "attributes.energy_class", weight=2)
    add_required_attribute(rows, tvs, "screen_size")
    brand = f"Zeta{token}"
    tv = {"category_id": tvs, **FULL}
    specs: dict[str, dict[str, Any]] = {
        # missing brand (1) and screen_size (1) of 8 -> 75
        "a": {**tv, "brand": None, "attributes": {"energy_class": "A"}},
        # missing brand, description, images, energy_class (2), screen_size -> 2 of 8 = 25
        "b": {"category_id": tvs, "brand": None, "description": "", "images": [], "attributes": {}},
        "c": {**tv, "brand": brand, "status": "active", "attributes": {"energy_class": "B", "screen_size": "55"}},
        # missing images -> 4 of 5 = 80
        "d": {"category_id": root, "brand": brand, "description": LONG_TEXT, "images": []},
        # a 49-character description is one short of the rule's 50 -> 80
        "e": {"category_id": root, "brand": "Other", "description": "x" * 49, "images": FULL["images"]},
        "g": {"category_id": root, "brand": brand, "status": "active", **FULL},  # complete, but no stock
        "archived": {"category_id": root, "brand": None, "status": "archived", **FULL},
    }
    ids = {key: (await create(client, auth_headers, **spec))["id"] for key, spec in specs.items()}
    rows.stock(ids["c"], on_hand=5, reserved=1, warehouse=f"Q{token.upper()}")
    rows.conn.close()
    return Crafted(root, tvs, brand, ids)


async def worklist(client: Client, headers: Headers, **params: Any) -> tuple[list[dict[str, Any]], int]:
    response = await get_ok(client, headers, "/quality/products", **params)
    return response.json(), int(response.headers["x-total-count"])


async def test_exact_scores_and_missing_fields_worst_first(client: Client, auth_headers: Headers,
                                                           crafted: Crafted) -> None:
    items, total = await worklist(client, auth_headers, category_id=crafted.root)
    ids = crafted.ids
    assert total == 6  # the archived product is out of scope by default
    assert [item["id"] for item in items] == [ids["b"], ids["a"], ids["d"], ids["e"], ids["c"], ids["g"]]
    by_id = {item["id"]: item for item in items}
    assert (by_id[ids["a"]]["completeness"], by_id[ids["a"]]["missing_fields"]) == (
        75, ["brand", "attributes.screen_size"])
    assert (by_id[ids["b"]]["completeness"], by_id[ids["b"]]["missing_fields"]) == (
        25, ["brand", "description", "images", "attributes.energy_class", "attributes.screen_size"])
    assert (by_id[ids["c"]]["completeness"], by_id[ids["c"]]["missing_fields"]) == (100, [])
    assert (by_id[ids["d"]]["completeness"], by_id[ids["d"]]["missing_fields"]) == (80, ["images"])
    assert (by_id[ids["e"]]["completeness"], by_id[ids["e"]]["missing_fields"]) == (80, ["description"])
    assert [by_id[i]["ready_to_sell"] for i in (ids["c"], ids["g"], ids["d"])] == [True, False, False]
    tv = by_id[ids["a"]]
    assert tv["category"]["id"] == crafted.tvs and tv["category"]["path"].endswith("/tvs")
    assert tv["status"] == "draft" and tv["brand"] is None and tv["sku"]


async def test_the_product_itself_reports_the_same_score(client: Client, auth_headers: Headers,
                                                         crafted: Crafted) -> None:
    product = (await get_ok(client, auth_headers, f"/products/{crafted.ids['b']}")).json()
    assert product["completeness"] == 25
    assert product["missing_fields"] == ["brand", "description", "images", "attributes.energy_class",
                                         "attributes.screen_size"]


@pytest.mark.parametrize(("params", "expected"), [
    ({"max_completeness": 79}, ["b", "a"]),
    ({"missing": "brand"}, ["b", "a"]),
    ({"missing": ["images", "brand"]}, ["b"]),
    ({"missing": "attributes.screen_size"}, ["b", "a"]),
    ({"status": "active"}, ["c", "g"]),
    ({"status": "archived"}, ["archived"]),
    ({"category_id": "tvs"}, ["b", "a", "c"]),
    ({"brand": "brand"}, ["d", "c", "g"]),
    ({"skip": 1, "limit": 2}, ["a", "d"]),
])
async def test_worklist_filters(client: Client, auth_headers: Headers, crafted: Crafted,
                                params: dict[str, Any], expected: list[str]) -> None:
    query = {"category_id": crafted.root, **params}
    if params.get("category_id") == "tvs":
        query["category_id"] = crafted.tvs
    if params.get("brand") == "brand":
        query["brand"] = crafted.brand.upper()  # case-insensitive
    items, total = await worklist(client, auth_headers, **query)
    assert [item["id"] for item in items] == [crafted.ids[key] for key in expected]
    assert total == (6 if "skip" in params else len(expected))


def independent_figures(engine: Engine, path: str | None) -> dict[str, Any]:
    """The summary of a subtree (None: the catalog) computed straight in SQL, archived products excluded."""
    scope = "TRUE" if path is None else (
        "p.category_id IN (SELECT id FROM categories WHERE path = :path OR path LIKE :path || '/%')")
    with engine.connect() as conn:
        row = conn.execute(text(f"""
            SELECT count(*), coalesce(round(avg(p.completeness), 2), 0),
                   round(100.0 * count(*) FILTER (WHERE p.completeness = 100) / greatest(count(*), 1), 2),
                   round(100.0 * count(*) FILTER (WHERE p.status = 'active' AND p.completeness = 100
                         AND p.price > 0 AND EXISTS (SELECT 1 FROM inventory i WHERE i.product_id = p.id
                                                     AND i.on_hand > i.reserved)) / greatest(count(*), 1), 2)
            FROM products p WHERE p.status <> 'archived' AND {scope}"""), {"path": path}).one()
        missing = conn.execute(text(f"""
            SELECT f, count(*) FROM products p, unnest(p.missing_fields) f
            WHERE p.status <> 'archived' AND {scope} GROUP BY f ORDER BY count(*) DESC, f COLLATE "C" LIMIT 3"""),
            {"path": path}).all()
    return {"products": row[0], "avg_completeness": float(row[1]), "complete_pct": float(row[2]),
            "ready_to_sell_pct": float(row[3]), "top_missing": [{"field": f, "count": n} for f, n in missing]}


async def test_summary_figures_equal_independent_sql(client: Client, auth_headers: Headers, crafted: Crafted,
                                                     engine: Engine) -> None:
    summary = (await get_ok(client, auth_headers, "/quality/summary", category_id=crafted.root,
                            top_missing=3)).json()
    assert [row["category"]["id"] for row in summary["categories"]] == [crafted.root, crafted.tvs]
    for row in summary["categories"]:
        figures = {key: row[key] for key in ("products", "avg_completeness", "complete_pct", "ready_to_sell_pct",
                                             "top_missing")}
        assert figures == independent_figures(engine, row["category"]["path"])
    root = summary["categories"][0]
    # by hand: 25, 75, 100, 80, 80, 100 -> average 76.67; two complete of six; one ready to sell
    assert (root["products"], root["avg_completeness"], root["complete_pct"], root["ready_to_sell_pct"]) == (
        6, 76.67, 33.33, 16.67)
    # brand, description, images and screen_size are each missing twice: ties go by name
    assert root["top_missing"] == [{"field": "attributes.screen_size", "count": 2}, {"field": "brand", "count": 2},
                                   {"field": "description", "count": 2}]
    catalog = summary["catalog"]
    assert catalog["category"] is None
    assert {key: catalog[key] for key in ("products", "avg_completeness", "complete_pct", "ready_to_sell_pct",
                                          "top_missing")} == independent_figures(engine, None)


async def test_effective_rules_say_where_they_come_from(client: Client, auth_headers: Headers,
                                                        crafted: Crafted) -> None:
    body = (await get_ok(client, auth_headers, "/quality/rules", category_id=crafted.tvs)).json()
    assert body["category"]["id"] == crafted.tvs
    rules = {rule["field"]: rule for rule in body["rules"]}
    assert list(rules) == ["brand", "description", "images", "price", "category", "attributes.energy_class",
                           "attributes.screen_size"]
    assert (rules["description"]["source"], rules["description"]["min_length"], rules["description"]["inherited"]
            ) == ("global", 50, True)
    assert rules["description"]["defined_in"] is None and isinstance(rules["description"]["id"], int)
    energy = rules["attributes.energy_class"]
    assert (energy["source"], energy["weight"], energy["inherited"], energy["defined_in"]["id"]) == (
        "category", 2.0, False, crafted.tvs)
    screen = rules["attributes.screen_size"]
    assert (screen["source"], screen["id"], screen["defined_in"]["id"]) == ("required_attribute", None, crafted.tvs)
    root_rules = (await get_ok(client, auth_headers, "/quality/rules", category_id=crafted.root)).json()["rules"]
    assert [rule["field"] for rule in root_rules] == ["brand", "description", "images", "price", "category"]


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


# --- duplicates ------------------------------------------------------------------------------------------------


async def test_crafted_duplicates_are_grouped_and_distinct_products_are_not(client: Client, auth_headers: Headers,
                                                                            catalog_rows: CatalogRows) -> None:
    token = uuid.uuid4().hex[:8]
    category = catalog_rows.category(f"dup{token}")
    brand = f"Dupe{token}"
    gtin = str(uuid.uuid4().int)[:12]

    async def make(name: str, **attributes: Any) -> int:
        created = await create(client, auth_headers, name=name, brand=brand, category_id=category,
                               attributes=attributes)
        return int(created["id"])

    same_gtin = [await make("Gizmo Alpha", gtin=f"00{gtin}"), await make("Widget Omega Max", ean=gtin)]
    same_name = [await make("ACME Kettle 1.7 L"), await make("Acme kettle 1.7 l")]
    similar = [await make("Zephyr Blender Professional 600W"), await make("Zephyr Blender Professionel 600W")]
    distinct = [await make("Zephyr Blender Professional 900W"), await make("Harbor Toaster Two Slice")]

    response = await get_ok(client, auth_headers, "/quality/duplicates", brand=brand)
    groups = [(group["reason"], sorted(p["id"] for p in group["products"])) for group in response.json()]
    assert groups == [("same_gtin", same_gtin), ("same_name_brand", same_name), ("similar_name", similar)]
    assert response.headers["x-total-count"] == "3"
    assert response.json()[0]["key"] == gtin.lstrip("0")
    grouped = {i for _, ids in groups for i in ids}
    assert not grouped & set(distinct)

    only_gtin = (await get_ok(client, auth_headers, "/quality/duplicates", brand=brand, reason="same_gtin")).json()
    assert [group["reason"] for group in only_gtin] == ["same_gtin"]
    strict = (await get_ok(client, auth_headers, "/quality/duplicates", brand=brand, similarity=1.0)).json()
    assert [group["reason"] for group in strict] == ["same_gtin", "same_name_brand"]
    in_category = await get_ok(client, auth_headers, "/quality/duplicates", category_id=category, skip=1, limit=1)
    assert [group["reason"] for group in in_category.json()] == ["same_name_brand"]
    assert in_category.headers["x-total-count"] == "3"

    similar_to = (await get_ok(client, auth_headers, f"/quality/products/{similar[0]}/similar")).json()
    assert similar_to[0]["id"] == similar[1]
    assert 0.8 <= similar_to[0]["similarity"] < 1.0
    assert distinct[1] not in {p["id"] for p in similar_to}


# --- trends ----------------------------------------------------------------------------------------------------


async def test_trend_returns_the_snapshots_of_a_category_over_time(client: Client, auth_headers: Headers,
                                                                   catalog_rows: CatalogRows, engine: Engine) -> None:
    category = catalog_rows.category(f"t{uuid.uuid4().hex[:8]}")
    first = await create(client, auth_headers, category_id=category, brand=None, **FULL)
    await create(client, auth_headers, category_id=category, brand="Acme", **FULL)
    day1, day2 = date(2001, 3, 1), date(2001, 3, 2)
    quality.take_snapshot(engine, day1)
    response = await client.patch(f"/products/{first['id']}", json={"brand": "Acme"},
                                  headers=auth_headers("merchandiser"))
    assert response.status_code == 200, response.text
    quality.take_snapshot(engine, day2)

    trend = (await get_ok(client, auth_headers, "/quality/trend", category_id=category, since=str(day1),
                          until=str(day2))).json()
    assert trend["category"]["id"] == category
    assert trend["points"] == [
        {"taken_on": "2001-03-01", "products": 2, "avg_completeness": 90.0, "complete_pct": 50.0,
         "ready_to_sell_pct": 0.0},
        {"taken_on": "2001-03-02", "products": 2, "avg_completeness": 100.0, "complete_pct": 100.0,
         "ready_to_sell_pct": 0.0},
    ]
    only_day2 = (await get_ok(client, auth_headers, "/quality/trend", category_id=category, since=str(day2))).json()
    assert [p["taken_on"] for p in only_day2["points"]] == ["2001-03-02"]
    catalog = (await get_ok(client, auth_headers, "/quality/trend", until=str(day2))).json()
    assert catalog["category"] is None
    assert [p["taken_on"] for p in catalog["points"]] == ["2001-03-01", "2001-03-02"]


# --- the CLI and the daily snapshot task -----------------------------------------------------------------------


def test_cli_snapshot_and_recompute(catalog_rows: CatalogRows, engine: Engine) -> None:
    """`catalog quality recompute|snapshot` (catalog/cli/quality.py) through the real command line app."""
    from catalog.cli import app

    category = catalog_rows.category(f"cli{uuid.uuid4().hex[:8]}")
    stale = catalog_rows.product(category_id=category, brand="Acme", completeness=0, missing_fields=["brand"],
                                 description=LONG_TEXT, images=FULL["images"])
    result = CliRunner().invoke(app, ["quality", "recompute", "--category", str(category)])
    assert result.exit_code == 0, result.output
    assert "1 products changed" in result.output
    assert catalog_rows.scalar("SELECT completeness FROM products WHERE id = %s", (stale,)) == 100

    result = CliRunner().invoke(app, ["quality", "snapshot", "--day", "2001-04-01"])
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        assert quality.has_snapshot(conn, date(2001, 4, 1))
        products = conn.execute(text("SELECT products FROM quality_snapshots WHERE taken_on = '2001-04-01' "
                                     "AND category_id = :c"), {"c": category}).scalar_one()
    assert products == 1


async def test_lifespan_takes_todays_missing_snapshot_and_stops_cleanly(settings: Settings, engine: Engine) -> None:
    today = date.today()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM quality_snapshots WHERE taken_on = :day"), {"day": today})
    app = Litestar(route_handlers=[])
    app.state.settings = settings

    def taken() -> bool:
        with engine.connect() as conn:
            return quality.has_snapshot(conn, today)

    async with quality_lifespan(app):
        await eventually(lambda: asyncio.to_thread(taken), "today's snapshot")


async def test_lifespan_logs_snapshot_failures_without_crashing(settings: Settings,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    app = Litestar(route_handlers=[])
    app.state.settings = settings.model_copy(update={"postgres_port": 1})  # nothing listens there

    async def logged() -> bool:
        return any("quality snapshot failed" in r.getMessage() for r in caplog.records)

    logger = logging.getLogger("catalog.quality")
    logger.addHandler(caplog.handler)  # directly: creating a Litestar app reconfigures the root logger
    try:
        async with quality_lifespan(app):
            await eventually(logged, "the logged failure")
    finally:
        logger.removeHandler(caplog.handler)


def test_the_daily_snapshot_waits_until_just_after_midnight() -> None:
    evening = datetime(2024, 5, 1, 23, 0)
    assert seconds_until_next_snapshot(evening) == timedelta(hours=1, minutes=5).total_seconds()
    assert seconds_until_next_snapshot(datetime(2024, 5, 1, 0, 5)) == timedelta(days=1).total_seconds()
