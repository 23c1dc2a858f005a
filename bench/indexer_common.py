"""Shared setup of the indexer benchmarks: a dedicated database and alias, reset and seeded in SQL."""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


def use_bench_environment(database: str, alias: str) -> None:
    """Point the catalog settings at the bench database and alias (before settings are first read)."""
    os.environ["CATALOG_POSTGRES_DB"] = database
    os.environ["CATALOG_INDEX_ALIAS"] = alias


def prepare(settings: object) -> None:
    """Migrated, empty bench database; no index versions of the bench alias."""
    from catalog.settings import Settings
    from db.migrate import upgrade
    from indexer.client import make_client
    from stack.postgres_server import ensure_database

    assert isinstance(settings, Settings)
    ensure_database(settings, settings.postgres_db)
    upgrade(settings.database_url)
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE products, inventory, warehouses, categories, outbox, dead_letters, audit_log, "
            "price_history RESTART IDENTITY CASCADE"
        )
    client = make_client(settings)
    client.indices.delete(index=f"{settings.index_alias}_v*", ignore_unavailable=True)
    client.close()


SEED_SQL = """
INSERT INTO products (sku, name, description, brand, category_id, status, price, currency, attributes, images)
SELECT 'BENCH-' || n,
       (ARRAY['Acme', 'Globex', 'Initech', 'Umbrella'])[n %% 4 + 1] || ' ' ||
       (ARRAY['kettle', 'lamp', 'television', 'drill', 'jacket'])[n %% 5 + 1] || ' model ' || n,
       'A dependable product, number ' || n || ', with a long enough description to be realistic.',
       (ARRAY['Acme', 'Globex', 'Initech', 'Umbrella'])[n %% 4 + 1],
       (SELECT id FROM categories ORDER BY id OFFSET n %% 3 LIMIT 1),
       (ARRAY['active', 'active', 'active', 'draft', 'archived'])[n %% 5 + 1],
       (n %% 1000) + 0.99, 'USD',
       jsonb_build_object('color', (ARRAY['red', 'blue', 'black'])[n %% 3 + 1], 'size', n %% 12,
                          'tags', jsonb_build_array('t' || n %% 10, 'u' || n %% 7)),
       jsonb_build_array('https://img.example/' || n || '.jpg')
FROM generate_series(%s::bigint, %s::bigint) AS n
"""


def seed(settings: object, products: int, chunk: int = 20_000) -> None:
    """`products` products (with categories and stock); their outbox rows form the backlog."""
    from catalog.settings import Settings

    assert isinstance(settings, Settings)
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO categories (slug, name, path, depth) VALUES ('home', 'Home', 'home', 0) "
            "ON CONFLICT DO NOTHING"
        )
        conn.execute(
            "INSERT INTO categories (parent_id, slug, name, path, depth) "
            "SELECT id, s, initcap(s), 'home/' || s, 1 FROM categories, unnest(ARRAY['kitchen', 'garden']) s "
            "WHERE path = 'home' ON CONFLICT DO NOTHING"
        )
        conn.execute("INSERT INTO warehouses (code, name) VALUES ('MAIN', 'Main') ON CONFLICT DO NOTHING")
        start = int(conn.execute("SELECT coalesce(max(id), 0) FROM products").fetchone()[0]) + 1  # type: ignore[index]
        for low in range(start, start + products, chunk):
            conn.execute(SEED_SQL, (low, min(low + chunk, start + products) - 1))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def bench_client(settings: object) -> Iterator[object]:
    from indexer.client import make_client

    client = make_client(settings)  # type: ignore[arg-type]
    try:
        yield client
    finally:
        client.close()
