"""Webhook delivery figures for the dashboard: per-endpoint counts and the deliveries that failed for good."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.data import TTL_SECONDS, engine
from db import webhooks

FAILED_SHOWN = 50


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def delivery_counts() -> pd.DataFrame:
    with engine().connect() as conn:
        rows = conn.exec_driver_sql(webhooks.DELIVERY_COUNTS_SQL).all()
    return pd.DataFrame(rows, columns=["webhook", "url", "active", "pending", "delivered", "failed"])


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def failed_deliveries() -> pd.DataFrame:
    with engine().connect() as conn:
        rows = conn.exec_driver_sql(webhooks.FAILED_DELIVERIES_SQL, {"limit": FAILED_SHOWN}).all()
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
