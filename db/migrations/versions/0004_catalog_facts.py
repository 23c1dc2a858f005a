"""Dashboard at catalog scale: catalog_facts (per-category sums kept exact by statement triggers) and two narrow
covering indexes on products.

The dashboard's Overview, Inventory and Catalog quality figures (products per status, completeness bands,
ready to sell, stock-outs, units on hand and reserved, stock value, per warehouse too) are sums over every
product joined with its stock rows: at 1M products that is a 1M x 2M join per page view (2-3 s each). This
table holds those sums per (category_id, status, currency, warehouse_id) so the pages read a few hundred rows.

Writes stay cheap and never wait on each other: the triggers only INSERT signed deltas (no row of this table
is ever updated by a writer, so concurrent writers in the same category neither block nor deadlock), and do it
once per statement from the transition tables (a 10k-product bulk insert or the seed's COPY adds one grouped
INSERT, not one per row). Readers sum the deltas per key; `catalog_facts_compact()` folds them back to one row
per key (the dashboard calls it when the deltas pile up). warehouse_id 0 holds a product's own figures (all
warehouses together); warehouse_id w holds its stock row in warehouse w.

- products INSERT / UPDATE (statement): - contribution(old values) + contribution(new values) for the rows whose
  category, status, currency, price or completeness changed (version-only bumps add nothing).
- products DELETE (row, BEFORE): minus its contribution while its stock rows still exist (the cascade that
  deletes them then finds no product and adds nothing).
- inventory INSERT / UPDATE / DELETE (statement): the stock delta, and the product's in-stock/ready change.
  Stock writes of one product are serialized by the version bump on its products row, so before/after are exact.
- TRUNCATE of either table rebuilds the sums from scratch.

The covering indexes let the remaining whole-catalog queries read ~70 MB of index instead of the ~770 MB
products heap (index-only scans): products_dashboard_idx (id -> status, category, currency, price, sku) for the
price distribution, low-stock list and biggest movers; products_incomplete_idx (only the incomplete products)
for the most-missing fields. Product updates are never HOT (updated_at is indexed), so each costs two more
index entries next to the nine it already writes.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MEASURES = ("products", "completeness_sum", "complete", "band_90", "band_75", "band_50", "in_stock", "ready",
            "on_hand", "reserved", "stock_value")
COLUMNS = ", ".join(("category_id", "status", "currency", "warehouse_id", *MEASURES))
SUMS = ", ".join(f"sum({m})" for m in MEASURES)
NONZERO = " OR ".join(f"sum({m}) <> 0" for m in MEASURES)

TABLE_SQL = """
CREATE TABLE catalog_facts (
    category_id bigint,
    status text NOT NULL,
    currency char(3) NOT NULL,
    warehouse_id bigint NOT NULL,
    products bigint NOT NULL DEFAULT 0,
    completeness_sum bigint NOT NULL DEFAULT 0,
    complete bigint NOT NULL DEFAULT 0,
    band_90 bigint NOT NULL DEFAULT 0,
    band_75 bigint NOT NULL DEFAULT 0,
    band_50 bigint NOT NULL DEFAULT 0,
    in_stock bigint NOT NULL DEFAULT 0,
    ready bigint NOT NULL DEFAULT 0,
    on_hand bigint NOT NULL DEFAULT 0,
    reserved bigint NOT NULL DEFAULT 0,
    stock_value numeric NOT NULL DEFAULT 0
);
COMMENT ON TABLE catalog_facts IS 'Signed per-category deltas of dashboard sums; read with sum() GROUP BY key.';
"""

INDEXES_SQL = """
CREATE INDEX IF NOT EXISTS products_dashboard_idx ON products (id) INCLUDE (status, category_id, currency, price, sku);
CREATE INDEX IF NOT EXISTS products_incomplete_idx ON products (completeness)
    INCLUDE (status, category_id, missing_fields) WHERE completeness < 100;
"""


def _product_rows(sides: str) -> str:
    """INSERT of the signed contributions of `sides` (a CTE list ending in
    sides(sign, id, category_id, status, currency, price, completeness)) with each product's current stock."""
    return f"""
    WITH {sides},
    stock AS (
        SELECT i.product_id, sum(i.on_hand) AS on_hand, sum(i.reserved) AS reserved,
               count(*) FILTER (WHERE i.on_hand > i.reserved) AS in_rows
        FROM inventory i WHERE i.product_id IN (SELECT id FROM sides) GROUP BY i.product_id
    ), contrib AS (
        SELECT s.category_id, s.status, s.currency, 0::bigint AS warehouse_id, s.sign AS products,
               s.sign * s.completeness AS completeness_sum, s.sign * (s.completeness = 100)::int AS complete,
               s.sign * (s.completeness BETWEEN 90 AND 99)::int AS band_90,
               s.sign * (s.completeness BETWEEN 75 AND 89)::int AS band_75,
               s.sign * (s.completeness BETWEEN 50 AND 74)::int AS band_50,
               s.sign * (coalesce(k.in_rows, 0) > 0)::int AS in_stock,
               s.sign * (s.status = 'active' AND s.completeness = 100 AND s.price > 0
                         AND coalesce(k.in_rows, 0) > 0)::int AS ready,
               s.sign * coalesce(k.on_hand, 0) AS on_hand, s.sign * coalesce(k.reserved, 0) AS reserved,
               s.sign * coalesce(k.on_hand, 0) * s.price AS stock_value
        FROM sides s LEFT JOIN stock k ON k.product_id = s.id
        UNION ALL
        SELECT s.category_id, s.status, s.currency, i.warehouse_id, 0, 0, 0, 0, 0, 0,
               s.sign * (i.on_hand > i.reserved)::int, 0, s.sign * i.on_hand, s.sign * i.reserved,
               s.sign * i.on_hand * s.price
        FROM sides s JOIN inventory i ON i.product_id = s.id
    )
    INSERT INTO catalog_facts ({COLUMNS})
    SELECT category_id, status, currency, warehouse_id, {SUMS} FROM contrib
    GROUP BY category_id, status, currency, warehouse_id HAVING {NONZERO};
    """


_SIDE_COLUMNS = "id, category_id, status, currency, price, completeness"
PRODUCTS_INSERT = _product_rows(f"sides AS (SELECT 1 AS sign, {_SIDE_COLUMNS} FROM new_rows)")
PRODUCTS_UPDATE = _product_rows(f"""changed AS (
        SELECT o.id FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.category_id, o.status, o.currency, o.price, o.completeness)
              IS DISTINCT FROM (n.category_id, n.status, n.currency, n.price, n.completeness)
    ), sides AS (
        SELECT -1 AS sign, {_SIDE_COLUMNS} FROM old_rows WHERE id IN (SELECT id FROM changed)
        UNION ALL
        SELECT 1, {_SIDE_COLUMNS} FROM new_rows WHERE id IN (SELECT id FROM changed)
    )""")
PRODUCTS_DELETE = _product_rows(
    "sides AS (SELECT -1 AS sign, OLD.id, OLD.category_id, OLD.status, OLD.currency, OLD.price, OLD.completeness)")
PRODUCTS_ALL = _product_rows(f"sides AS (SELECT 1 AS sign, {_SIDE_COLUMNS} FROM products)")


def _stock_rows(changes: str) -> str:
    """INSERT of the deltas of a statement's stock changes
    (`changes(sign, product_id, warehouse_id, on_hand, reserved)`): the warehouse rows, and each touched
    product's before (-) and after (+) totals, in stock and ready, under its current category/status/currency."""
    return f"""
    WITH changes AS ({changes}),
    moved AS (
        SELECT product_id, sum(sign * on_hand) AS on_hand, sum(sign * reserved) AS reserved,
               sum(sign * (on_hand > reserved)::int) AS in_rows
        FROM changes GROUP BY product_id
    ), after AS (
        SELECT i.product_id, sum(i.on_hand) AS on_hand, sum(i.reserved) AS reserved,
               count(*) FILTER (WHERE i.on_hand > i.reserved) AS in_rows
        FROM inventory i WHERE i.product_id IN (SELECT product_id FROM moved) GROUP BY i.product_id
    ), states AS (
        SELECT 1 AS sign, m.product_id, coalesce(a.on_hand, 0) AS on_hand, coalesce(a.reserved, 0) AS reserved,
               coalesce(a.in_rows, 0) AS in_rows
        FROM moved m LEFT JOIN after a USING (product_id)
        UNION ALL
        SELECT -1, m.product_id, coalesce(a.on_hand, 0) - m.on_hand, coalesce(a.reserved, 0) - m.reserved,
               coalesce(a.in_rows, 0) - m.in_rows
        FROM moved m LEFT JOIN after a USING (product_id)
    ), contrib AS (
        SELECT p.category_id, p.status, p.currency, 0::bigint AS warehouse_id, 0 AS products,
               0 AS completeness_sum, 0 AS complete, 0 AS band_90, 0 AS band_75, 0 AS band_50,
               s.sign * (s.in_rows > 0)::int AS in_stock,
               s.sign * (p.status = 'active' AND p.completeness = 100 AND p.price > 0 AND s.in_rows > 0)::int
                   AS ready,
               s.sign * s.on_hand AS on_hand, s.sign * s.reserved AS reserved,
               s.sign * s.on_hand * p.price AS stock_value
        FROM states s JOIN products p ON p.id = s.product_id
        UNION ALL
        SELECT p.category_id, p.status, p.currency, c.warehouse_id, 0, 0, 0, 0, 0, 0,
               c.sign * (c.on_hand > c.reserved)::int, 0, c.sign * c.on_hand, c.sign * c.reserved,
               c.sign * c.on_hand * p.price
        FROM changes c JOIN products p ON p.id = c.product_id
    )
    INSERT INTO catalog_facts ({COLUMNS})
    SELECT category_id, status, currency, warehouse_id, {SUMS} FROM contrib
    GROUP BY category_id, status, currency, warehouse_id HAVING {NONZERO};
    """


_STOCK = "product_id, warehouse_id, on_hand, reserved"
STOCK_INSERT = _stock_rows(f"SELECT 1 AS sign, {_STOCK} FROM new_rows")
STOCK_UPDATE = _stock_rows(f"SELECT 1 AS sign, {_STOCK} FROM new_rows UNION ALL SELECT -1, {_STOCK} FROM old_rows")
STOCK_DELETE = _stock_rows(f"SELECT -1 AS sign, {_STOCK} FROM old_rows")


def _function(name: str, body: str, returns: str = "NULL") -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    {body}
    RETURN {returns};
END $fn$;
"""


FUNCTIONS_SQL = f"""
CREATE FUNCTION catalog_facts_rebuild() RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM catalog_facts;
    {PRODUCTS_ALL}
END $fn$;

CREATE FUNCTION catalog_facts_compact() RETURNS bigint LANGUAGE sql AS $fn$
    WITH gone AS (DELETE FROM catalog_facts RETURNING *), kept AS (
        INSERT INTO catalog_facts ({COLUMNS})
        SELECT category_id, status, currency, warehouse_id, {SUMS} FROM gone
        GROUP BY category_id, status, currency, warehouse_id HAVING {NONZERO}
        RETURNING 1
    )
    SELECT count(*) FROM kept;
$fn$;
{_function("catalog_facts_products_insert", PRODUCTS_INSERT)}
{_function("catalog_facts_products_update", PRODUCTS_UPDATE)}
{_function("catalog_facts_products_delete", PRODUCTS_DELETE, returns="OLD")}
{_function("catalog_facts_stock_insert", STOCK_INSERT)}
{_function("catalog_facts_stock_update", STOCK_UPDATE)}
{_function("catalog_facts_stock_delete", STOCK_DELETE)}
{_function("catalog_facts_truncated", "PERFORM catalog_facts_rebuild();")}
"""

TRIGGERS_SQL = """
CREATE TRIGGER catalog_facts_insert AFTER INSERT ON products REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_facts_products_insert();
CREATE TRIGGER catalog_facts_update AFTER UPDATE ON products REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_facts_products_update();
CREATE TRIGGER catalog_facts_delete BEFORE DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION catalog_facts_products_delete();
CREATE TRIGGER catalog_facts_truncate AFTER TRUNCATE ON products
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_facts_truncated();
CREATE TRIGGER catalog_facts_insert AFTER INSERT ON inventory REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_facts_stock_insert();
CREATE TRIGGER catalog_facts_update AFTER UPDATE ON inventory REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_facts_stock_update();
CREATE TRIGGER catalog_facts_delete AFTER DELETE ON inventory REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_facts_stock_delete();
CREATE TRIGGER catalog_facts_truncate AFTER TRUNCATE ON inventory
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_facts_truncated();
"""

DOWNGRADE_SQL = """
DROP TRIGGER IF EXISTS catalog_facts_insert ON products;
DROP TRIGGER IF EXISTS catalog_facts_update ON products;
DROP TRIGGER IF EXISTS catalog_facts_delete ON products;
DROP TRIGGER IF EXISTS catalog_facts_truncate ON products;
DROP TRIGGER IF EXISTS catalog_facts_insert ON inventory;
DROP TRIGGER IF EXISTS catalog_facts_update ON inventory;
DROP TRIGGER IF EXISTS catalog_facts_delete ON inventory;
DROP TRIGGER IF EXISTS catalog_facts_truncate ON inventory;
DROP FUNCTION IF EXISTS catalog_facts_truncated(), catalog_facts_stock_delete(), catalog_facts_stock_update(),
    catalog_facts_stock_insert(), catalog_facts_products_delete(), catalog_facts_products_update(),
    catalog_facts_products_insert(), catalog_facts_compact(), catalog_facts_rebuild();
DROP TABLE IF EXISTS catalog_facts;
DROP INDEX IF EXISTS products_incomplete_idx;
DROP INDEX IF EXISTS products_dashboard_idx;
"""


def upgrade() -> None:
    op.execute(INDEXES_SQL)
    op.execute(TABLE_SQL)
    op.execute(FUNCTIONS_SQL)
    op.execute(TRIGGERS_SQL)
    op.execute("SELECT catalog_facts_rebuild()")


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
