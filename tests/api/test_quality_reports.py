"""/quality reports and tasks: crafted duplicates grouped by reason, the `catalog quality` CLI, and the daily
snapshot task of the app's lifespan.

Rules and categories are crafted per test under a unique root category; the catalog-wide default rules of
migration 0002 (brand, description >= 50 chars, images, price, category; weight 1 each) apply to all of them.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from api.quality.background import quality_lifespan, seconds_until_next_snapshot
from catalog.settings import Settings
from db import quality
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.quality import (
    FULL,
    LONG_TEXT,
    create,
    eventually,
    get_ok,
)

Client = AsyncTestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


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
