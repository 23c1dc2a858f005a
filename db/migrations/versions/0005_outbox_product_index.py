"""Read-your-writes at catalog scale: an index to find a product's latest outbox change.

Every write through the API answers with `X-Catalog-Change` (the outbox position of its last change), read by
`SELECT max(id) FROM outbox WHERE product_id = $1`. Without this index PostgreSQL walks the outbox primary key
backwards past every newer row, or plans a parallel scan of the whole outbox: at 1M products, 16 concurrent
`POST /products` spent ~170 ms each in that one statement (18 req/s, p50 817 ms). With it, the lookup reads one
index entry. Built CONCURRENTLY so an upgrade never blocks writers on a large outbox.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS outbox_product_id_idx ON outbox (product_id, id)")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS outbox_product_id_idx")
