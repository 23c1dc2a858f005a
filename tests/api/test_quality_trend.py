"""/quality/trend: the daily snapshots of a category, and of the whole catalog, over time; on a database of this
module's own.

The catalog-wide series holds every snapshot ever taken in the database, so in the session's shared database it
also held the days other tests had snapshotted (tests/db/test_quality_engine.py takes one in January 2001, before
the days taken here). Here `client`, `auth_headers`, `catalog_rows` and `engine` are this module's: the app, tokens,
rows and engine of `own_catalog` (tests/helpers/catalogs.py), so the only snapshots are the ones the test takes.
The catalog-wide default rules of migration 0002 apply, as everywhere.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import Engine, create_engine

from catalog.settings import Settings
from db import quality
from tests.helpers.catalog_rows import CatalogRows
from tests.helpers.catalogs import Headers, app_client, own_catalog, role_headers
from tests.helpers.quality import FULL, create, get_ok

Client = AsyncTestClient[Litestar]


@pytest.fixture(scope="module")
def own(stack: Settings) -> Iterator[Settings]:
    """The database, with today's snapshot already taken: the app's lifespan takes it only when it is missing, and
    taken at startup in the background it could otherwise include the category a test is writing (the session's
    app took it at the start of the session, before any test wrote)."""
    from api.quality.background import snapshot_if_missing

    with own_catalog(stack, "trend", index=False) as settings:
        snapshot_if_missing(settings.database_url, date.today())
        yield settings


@pytest.fixture(scope="module")
async def client(own: Settings) -> AsyncIterator[Client]:
    """The API on this module's database."""
    async with app_client(own) as client:
        yield client


@pytest.fixture(scope="module")
def auth_headers(own: Settings) -> Headers:
    """`auth_headers(role)`: a token of that role for the app on `own`."""
    return role_headers(own)


@pytest.fixture
def catalog_rows(own: Settings) -> Iterator[CatalogRows]:
    rows = CatalogRows(own.postgres_dsn)
    yield rows
    rows.conn.close()


@pytest.fixture(scope="module")
def engine(own: Settings) -> Iterator[Engine]:
    eng = create_engine(own.database_url, pool_size=2, max_overflow=2)
    yield eng
    eng.dispose()


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
