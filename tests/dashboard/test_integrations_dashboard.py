"""The dashboard's Overview lists webhook endpoints with their delivery counts and the deliveries that failed."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from catalog.settings import Settings
from stack.postgres_server import drop_database
from tests.helpers.dashboard import create_database, dashboard_env, open_page


def test_overview_shows_failed_webhook_deliveries(stack: Settings) -> None:
    name = f"{stack.postgres_db}_dashboard_hooks"
    create_database(stack, name)
    try:
        with dashboard_env(name) as settings, psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
            conn.execute("INSERT INTO products (sku, name, price, currency) VALUES ('HOOK-1', 'Kettle', 5, 'USD')")
            endpoint = conn.execute(
                "INSERT INTO webhook_endpoints (url, events, secret, start_seq) "
                "VALUES ('https://erp.example.com/hook', '{stock.out}', 'a-secret-of-16-chars', 0) RETURNING id"
            ).fetchone()
            assert endpoint is not None
            deliveries = (("failed", "ConnectError: refused"), ("delivered", None), ("pending", None))
            for change_id, (status, error) in enumerate(deliveries, start=1):
                conn.execute(
                    "INSERT INTO webhook_deliveries (endpoint_id, change_id, commit_seq, event, product_id, payload, "
                    "status, attempts, last_error, finished_at) VALUES (%s, %s, 1, 'stock.out', 1, %s, %s, 9, %s, "
                    "CASE WHEN %s <> 'pending' THEN now() END)",
                    (endpoint[0], change_id, Jsonb({}), status, error, status),
                )
            at = open_page("overview")
            counts = next(df.value for df in at.dataframe if "delivered" in df.value.columns)
            assert counts[["pending", "delivered", "failed"]].iloc[0].tolist() == [1, 1, 1]
            failed = next(df.value for df in at.dataframe if "last_error" in df.value.columns)
            assert failed["last_error"].tolist() == ["ConnectError: refused"]
            assert failed["url"].tolist() == ["https://erp.example.com/hook"]
    finally:
        drop_database(stack, name)
