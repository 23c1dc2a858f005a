"""Catalog-wide default completeness rules, so every catalog scores products from day one.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DEFAULT_RULES = [("brand", None), ("description", 50), ("images", None), ("price", None), ("category", None)]


def upgrade() -> None:
    for field, min_length in DEFAULT_RULES:
        op.execute(
            "INSERT INTO quality_rules (category_id, field, min_length) VALUES "
            f"(NULL, '{field}', {'NULL' if min_length is None else min_length}) "
            "ON CONFLICT DO NOTHING"
        )


def downgrade() -> None:
    op.execute("DELETE FROM quality_rules WHERE category_id IS NULL")
