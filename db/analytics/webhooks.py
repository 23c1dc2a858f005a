"""Webhook delivery figures for the Overview page: per-endpoint counts and the deliveries that failed for good."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from db import webhooks

FAILED_SHOWN = 50


def webhook_delivery_counts(engine: Engine) -> pd.DataFrame:
    """webhook, url, active, pending, delivered, failed: one row per endpoint."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(webhooks.DELIVERY_COUNTS_SQL).all()
    return pd.DataFrame(rows, columns=["webhook", "url", "active", "pending", "delivered", "failed"])


def failed_webhook_deliveries(engine: Engine, limit: int = FAILED_SHOWN) -> pd.DataFrame:
    """The latest deliveries given up on (retried for hours), newest first."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(webhooks.FAILED_DELIVERIES_SQL, {"limit": limit}).all()
    columns = [
        "delivery",
        "url",
        "event",
        "product_id",
        "attempts",
        "last_status",
        "last_error",
        "created_at",
        "failed_at",
    ]
    return pd.DataFrame(rows, columns=columns)
