"""Indexes for the quality worklist: worst-first paging and the missing-field filter at catalog scale.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# GET /quality/products filters with `missing_fields @> '{brand}'` (GIN answers it without a scan) and pages
# in (completeness, id) order, which the composite index returns pre-sorted; the single-column
# completeness index is a prefix of it and is replaced.
UPGRADE_SQL = """
CREATE INDEX IF NOT EXISTS products_missing_fields_gin ON products USING gin (missing_fields);
CREATE INDEX IF NOT EXISTS products_completeness_id_idx ON products (completeness, id);
DROP INDEX IF EXISTS products_completeness_idx;
"""

DOWNGRADE_SQL = """
CREATE INDEX IF NOT EXISTS products_completeness_idx ON products (completeness);
DROP INDEX IF EXISTS products_completeness_id_idx;
DROP INDEX IF EXISTS products_missing_fields_gin;
"""


def upgrade() -> None:
    op.execute(UPGRADE_SQL)


def downgrade() -> None:
    op.execute(DOWNGRADE_SQL)
