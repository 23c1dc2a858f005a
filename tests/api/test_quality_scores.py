"""The /quality scores of a crafted catalog: exact scores and missing fields worst first, the product reporting
the same score, worklist filters, summaries against independent SQL, where each effective rule comes from.

Rules and categories are crafted per test under a unique root category; the catalog-wide default rules of
migration 0002 (brand, description >= 50 chars, images, price, category; weight 1 each) apply to all of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import Engine, text

from catalog.settings import Settings
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.quality import (
    FULL,
    LONG_TEXT,
    add_required_attribute,
    add_rule,
    create,
    get_ok,
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
