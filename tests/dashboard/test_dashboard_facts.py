"""catalog_facts (migration 0004) stays equal to the figures computed from products and inventory directly, through
the seed's COPY, single and multi-row writes of every kind, deletes with their cascade, compaction and TRUNCATE.

The expected sums are plain SQL over products and inventory, independent of the triggers and of the rebuild
function. The module has its own database: it truncates.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from catalog.settings import Settings
from stack.postgres_server import drop_database
from tests.helpers.dashboard import create_database

KEY = "category_id, status, currency, warehouse_id"
MEASURES = ("products", "completeness_sum", "complete", "band_90", "band_75", "band_50", "in_stock", "ready",
            "on_hand", "reserved", "stock_value")

EXPECTED = """
WITH stock AS (
    SELECT product_id, sum(on_hand) AS on_hand, sum(reserved) AS reserved, bool_or(on_hand > reserved) AS in_stock
    FROM inventory GROUP BY product_id
)
SELECT p.category_id, p.status, p.currency, 0::bigint, count(*), sum(p.completeness),
       count(*) FILTER (WHERE p.completeness = 100), count(*) FILTER (WHERE p.completeness BETWEEN 90 AND 99),
       count(*) FILTER (WHERE p.completeness BETWEEN 75 AND 89),
       count(*) FILTER (WHERE p.completeness BETWEEN 50 AND 74),
       count(*) FILTER (WHERE s.in_stock),
       count(*) FILTER (WHERE p.status = 'active' AND p.completeness = 100 AND p.price > 0 AND s.in_stock),
       coalesce(sum(s.on_hand), 0), coalesce(sum(s.reserved), 0), coalesce(sum(s.on_hand * p.price), 0)
FROM products p LEFT JOIN stock s ON s.product_id = p.id GROUP BY 1, 2, 3
UNION ALL
SELECT p.category_id, p.status, p.currency, i.warehouse_id, 0, 0, 0, 0, 0, 0,
       count(*) FILTER (WHERE i.on_hand > i.reserved), 0, sum(i.on_hand), sum(i.reserved), sum(i.on_hand * p.price)
FROM inventory i JOIN products p ON p.id = i.product_id GROUP BY 1, 2, 3, 4
"""

WRITES = (
    "UPDATE products SET price = price * 1.1 WHERE id % 7 = 0",
    "UPDATE products SET status = 'active' WHERE status = 'draft' AND id % 3 = 0",
    "UPDATE products SET status = 'archived' WHERE id % 11 = 0",
    "UPDATE products SET category_id = (SELECT min(id) FROM categories WHERE depth = 1) WHERE id % 13 = 0",
    "UPDATE products SET category_id = NULL WHERE id % 17 = 0",
    "UPDATE products SET completeness = 100 WHERE completeness BETWEEN 80 AND 99 AND id % 2 = 0",
    "UPDATE products SET version = version + 1 WHERE id % 5 = 0",
    "UPDATE products SET currency = 'EUR' WHERE id % 19 = 0",
    "UPDATE inventory SET reserved = on_hand WHERE product_id % 4 = 0",
    "UPDATE inventory SET on_hand = on_hand + 10 WHERE product_id % 9 = 0",
    "DELETE FROM inventory WHERE product_id % 6 = 0 AND warehouse_id = (SELECT min(id) FROM warehouses)",
    "INSERT INTO inventory (product_id, warehouse_id, on_hand, reserved) SELECT p.id, w.id, 3, 1 "
    "FROM products p CROSS JOIN warehouses w WHERE p.id % 10 = 1 ON CONFLICT DO NOTHING",
    "INSERT INTO products (sku, name, status, price, currency, completeness, category_id) "
    "SELECT 'FACTS-' || g, 'facts ' || g, 'active', 5, 'USD', 100, (SELECT max(id) FROM categories) "
    "FROM generate_series(1, 30) g",
    "INSERT INTO inventory (product_id, warehouse_id, on_hand, reserved) "
    "SELECT id, (SELECT max(id) FROM warehouses), 7, 0 FROM products WHERE sku LIKE 'FACTS-%'",
    "DELETE FROM products WHERE id % 23 = 0",
    "DELETE FROM products WHERE sku LIKE 'FACTS-1%'",
)


def _nonzero(rows: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {tuple(row[:4]): tuple(Decimal(v) for v in row[4:]) for row in rows if any(row[4:])}


def facts(conn: psycopg.Connection[Any]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    sums = ", ".join(f"sum({m})" for m in MEASURES)
    return _nonzero(conn.execute(f"SELECT {KEY}, {sums} FROM catalog_facts GROUP BY {KEY}").fetchall())


def expected(conn: psycopg.Connection[Any]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return _nonzero(conn.execute(EXPECTED).fetchall())


@pytest.fixture(scope="module")
def facts_dsn(stack: Settings) -> Iterator[str]:
    from db.seed import seed

    name = f"{stack.postgres_db}_dashboard_facts"
    url = create_database(stack, name)
    seed(url, 600, seed=11)
    yield stack.postgres_dsn.replace(f"dbname={stack.postgres_db}", f"dbname={name}")
    drop_database(stack, name)


def test_seeded_facts_equal_sql(facts_dsn: str) -> None:
    with psycopg.connect(facts_dsn) as conn:
        assert facts(conn) == expected(conn) != {}


@pytest.mark.parametrize("write", WRITES)
def test_facts_follow_every_write(facts_dsn: str, write: str) -> None:
    with psycopg.connect(facts_dsn, autocommit=True) as conn:
        conn.execute(write)
        assert facts(conn) == expected(conn)


def test_facts_follow_a_multi_statement_transaction_and_a_rollback(facts_dsn: str) -> None:
    with psycopg.connect(facts_dsn, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("UPDATE products SET price = 1 WHERE id % 29 = 0")
            conn.execute("UPDATE inventory SET on_hand = on_hand + 1 WHERE product_id % 29 = 0")
            conn.execute("UPDATE products SET status = 'draft' WHERE id % 29 = 0")
        before = facts(conn)
        with pytest.raises(RuntimeError), conn.transaction():
            conn.execute("UPDATE inventory SET on_hand = on_hand + 5")
            raise RuntimeError("roll back")
        assert facts(conn) == before == expected(conn)


def test_compaction_keeps_the_sums_and_folds_the_rows(facts_dsn: str) -> None:
    with psycopg.connect(facts_dsn, autocommit=True) as conn:
        before = facts(conn)
        kept = conn.execute("SELECT catalog_facts_compact()").fetchone()
        assert kept is not None
        rows = conn.execute("SELECT count(*) FROM catalog_facts").fetchone()
        assert rows is not None and rows[0] == kept[0] == len(before)
        assert facts(conn) == before == expected(conn)


def test_truncate_rebuilds(facts_dsn: str) -> None:
    with psycopg.connect(facts_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE inventory")
        assert facts(conn) == expected(conn)
        conn.execute("TRUNCATE products CASCADE")
        assert facts(conn) == {} == expected(conn)
