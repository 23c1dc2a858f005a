"""Ready to sell: the one SQL definition the snapshots, the quality report and the dashboard count with."""

from __future__ import annotations


def ready_to_sell_sql(alias: str = "p") -> str:
    """SQL boolean: active, complete, priced and with available stock in some warehouse."""
    return (f"({alias}.status = 'active' AND {alias}.completeness = 100 AND {alias}.price > 0 "
            f"AND EXISTS (SELECT 1 FROM inventory i WHERE i.product_id = {alias}.id "
            f"AND i.on_hand - i.reserved > 0))")
