"""The dashboard's seeded database (module-scoped: each module that asks for it gets its own, and its settings
point there for that module) and a product model made of seeded products."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import create_engine, pool

from catalog.settings import Settings
from stack.postgres_server import drop_database
from tests.helpers.dashboard import (
    SEEDED_PRODUCTS,
    DashboardDatabase,
    SeededModel,
    create_database,
    dashboard_env,
    record_searches,
)


@pytest.fixture(scope="module")
def dashboard_db(stack: Settings) -> Iterator[DashboardDatabase]:
    """The demo catalog (3000 products), two quality snapshots, logged searches and a search index built
    from it, with the dashboard's settings pointing there for the module."""
    from db.quality.snapshots import take_snapshot
    from db.seed import seed
    from indexer.mapping import template_name
    from indexer.reindex import reindex

    name, alias = f"{stack.postgres_db}_dashboard", f"{stack.index_alias}_dashboard"
    url = create_database(stack, name)
    seed(url, SEEDED_PRODUCTS, seed=7)
    engine = create_engine(url, poolclass=pool.NullPool)
    take_snapshot(engine, date.today() - timedelta(days=1))
    take_snapshot(engine, date.today())
    with dashboard_env(name, alias) as settings:
        record_searches(settings.postgres_dsn)
        reindex(settings)
        client = _search_client(settings)
        yield DashboardDatabase(name, alias, settings.postgres_dsn)
        client.indices.delete(index=f"{alias}_v*", ignore_unavailable=True)
        client.indices.delete_index_template(name=template_name(alias))
        client.close()
    engine.dispose()
    drop_database(stack, name)


@pytest.fixture(scope="module")
def seeded_model(dashboard_db: DashboardDatabase) -> SeededModel:
    """A product model made of three seeded products of one category (two incomplete, one complete), each given
    a color axis value: no product is added, so the catalog-wide figures the other tests check stay the same.
    (The demo seed may have models of its own; the tests find this one by its code.)"""
    with psycopg.connect(dashboard_db.dsn, autocommit=True) as conn:
        picked = [row[0] for row in conn.execute("""
            SELECT id FROM products WHERE status <> 'archived' AND completeness < 100 AND group_id IS NULL
              AND category_id = (SELECT category_id FROM products WHERE status <> 'archived' AND completeness = 100
                                 AND group_id IS NULL GROUP BY category_id ORDER BY count(*) DESC LIMIT 1)
            ORDER BY id LIMIT 2""").fetchall()]
        category = conn.execute("SELECT category_id FROM products WHERE id = %s", (picked[0],)).fetchone()
        assert category is not None and len(picked) == 2
        complete = conn.execute("SELECT id FROM products WHERE status <> 'archived' AND completeness = 100 "
                                "AND group_id IS NULL AND category_id = %s ORDER BY id LIMIT 1", category).fetchone()
        assert complete is not None
        found = conn.execute("INSERT INTO product_groups (code, name, category_id, axes) VALUES "
                             "('DASH-MODEL', 'Dashboard Model', %s, '{color}') RETURNING id", category).fetchone()
        assert found is not None
        ids = (*picked, complete[0])
        for product_id, color in zip(ids, ("Red", "Blue", "Green"), strict=True):
            conn.execute("UPDATE products SET group_id = %s, variant_key = %s, "
                         "attributes = attributes || jsonb_build_object('color', %s::text) WHERE id = %s",
                         (found[0], json.dumps([color.lower()]), color, product_id))
    return SeededModel(int(found[0]), "DASH-MODEL", tuple(int(i) for i in ids))


def _search_client(settings: Settings) -> Any:
    from indexer.client import make_client

    return make_client(settings)
