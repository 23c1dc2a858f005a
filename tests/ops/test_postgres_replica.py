"""A PostgreSQL primary and its streaming replica of this module's own (ports 5440-5449, a tmp stack dir).

Writes on the primary reach the replica, /metrics of an app configured with the replica shows its lag, the
dashboard reads from the replica, and with the replica stopped the dashboard reads the primary and says so. The
pair is started with the stack's own functions (stack/postgres_server.py) and deleted even when a test fails.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator

import psycopg
import pytest
import streamlit as st
from litestar.testing import TestClient
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from catalog.settings import PROJECT_ROOT, Settings, get_settings
from stack import postgres_server
from stack.processes import port_is_open
from tests.helpers.catalog_rows import CatalogRows

APP = PROJECT_ROOT / "dashboard" / "app.py"
DATABASE = "catalog_replica_test"
REPLAY_BOUND_SECONDS = 10.0
PRODUCTS = 25


def free_ports(count: int) -> list[int]:
    ports = [port for port in range(5440, 5450) if not port_is_open("127.0.0.1", port)]
    if len(ports) < count:
        pytest.fail(f"need {count} free ports in 5440-5449 for the primary and its replica; in use: all but {ports}")
    return ports[:count]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A migrated primary with a few products and its hot standby; both stopped and deleted afterwards."""
    from db.migrate import upgrade

    primary_port, replica_port = free_ports(2)
    settings = Settings(
        stack_dir=tmp_path_factory.mktemp("replica-stack"),
        postgres_port=primary_port,
        postgres_replica=True,
        postgres_replica_port=replica_port,
        postgres_db=DATABASE,
    )
    try:
        postgres_server.start(settings, say=lambda message: None)
        postgres_server.ensure_database(settings, DATABASE)
        upgrade(settings.database_url)
        rows = CatalogRows(settings.postgres_dsn)
        for _ in range(PRODUCTS):
            rows.product()
        rows.conn.close()
        postgres_server.start_replica(settings, say=lambda message: None)
        yield settings
    finally:
        postgres_server.delete_cluster(settings)  # stops the replica and the primary, deletes both folders


def replica_scalar(settings: Settings, sql: str, params: object = None) -> object:
    with psycopg.connect(postgres_server.replica_dsn(settings, DATABASE)) as conn:
        row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
    return row[0] if row else None


def wait_on_replica(settings: Settings, sql: str, params: object, bound: float) -> float:
    """Seconds until `sql` returns a row on the replica (fails after `bound`)."""
    started = time.monotonic()
    while replica_scalar(settings, sql, params) is None:
        assert time.monotonic() - started < bound, f"not replayed on the replica within {bound} s: {sql} {params}"
        time.sleep(0.02)
    return time.monotonic() - started


def test_the_replica_is_a_standby_that_refuses_writes(pair: Settings) -> None:
    assert postgres_server.replica_is_healthy(pair)
    assert replica_scalar(pair, "SELECT count(*) FROM products") == PRODUCTS  # cloned by pg_basebackup
    with (
        psycopg.connect(postgres_server.replica_dsn(pair, DATABASE)) as conn,
        pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
    ):
        conn.execute("UPDATE products SET name = 'x'")


def test_stack_status_and_logs_cover_the_replica(pair: Settings) -> None:
    from stack import manager

    replica = next(s for s in manager.status(pair) if s.name == "postgres-replica")
    assert (replica.address, replica.healthy) == (f"127.0.0.1:{pair.postgres_replica_port}", True)
    assert replica.pid == postgres_server.replica_running_pid(pair) is not None
    assert "database system is ready to accept read-only connections" in manager.logs(pair, "postgres-replica", 50)
    without = pair.model_copy(update={"postgres_replica": False})
    assert "postgres-replica" not in {s.name for s in manager.status(without)} | set(manager.log_paths(without))


def test_a_write_on_the_primary_is_read_back_on_the_replica(pair: Settings) -> None:
    rows = CatalogRows(pair.postgres_dsn)
    try:
        product_id = rows.product(name="Streamed to the standby")
        seconds = wait_on_replica(pair, "SELECT 1 FROM products WHERE id = %s", (product_id,), REPLAY_BOUND_SECONDS)
        rows.update(product_id, name="Renamed on the primary")
        wait_on_replica(
            pair,
            "SELECT 1 FROM products WHERE id = %s AND name = 'Renamed on the primary'",
            (product_id,),
            REPLAY_BOUND_SECONDS,
        )
    finally:
        rows.conn.close()
    print(f"insert visible on the replica after {seconds * 1000:.0f} ms")


def metric_value(body: str, name: str) -> float:
    found = re.search(rf"^{name}\{{server=\"[^\"]+\"\}} (\S+)$", body, re.MULTILINE)
    assert found, f"{name} missing from /metrics"
    return float(found.group(1))


def test_metrics_show_the_replica_and_its_lag(pair: Settings) -> None:
    from api.app import create_app

    with TestClient(app=create_app(pair)) as client:
        body = client.get("/metrics").text
    server = f"127.0.0.1:{pair.postgres_replica_port}"
    assert f'catalog_postgres_replica_up{{server="{server}"}} 1.0' in body
    assert f'catalog_postgres_replica_streaming{{server="{server}"}} 1.0' in body
    lag = metric_value(body, "catalog_postgres_replica_lag_seconds")
    assert 0 <= lag < REPLAY_BOUND_SECONDS
    assert metric_value(body, "catalog_postgres_replica_lag_bytes") >= 0


@pytest.fixture
def dashboard_on_pair(pair: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The dashboard's settings (get_settings) pointed at the pair, restored afterwards."""
    environment = {
        "CATALOG_STACK_DIR": str(pair.stack_dir),
        "CATALOG_POSTGRES_PORT": str(pair.postgres_port),
        "CATALOG_POSTGRES_DB": DATABASE,
        "CATALOG_POSTGRES_REPLICA": "true",
        "CATALOG_POSTGRES_REPLICA_PORT": str(pair.postgres_replica_port),
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("CATALOG_POSTGRES_READ_")]:
        monkeypatch.delenv(key)
    _reset_caches()
    try:
        yield get_settings()
    finally:
        monkeypatch.undo()
        _reset_caches()
        if not postgres_server.replica_running_pid(pair):
            postgres_server.start_replica(pair, say=lambda message: None)  # the next test gets the pair whole


def _reset_caches() -> None:
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()


def overview() -> AppTest:
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page("views/overview.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def read_port() -> int:
    from dashboard import data

    with data.engine().connect() as conn:
        return int(conn.execute(text("SELECT inet_server_port()")).scalar_one())


def test_the_dashboard_reads_the_replica_then_falls_back_to_the_primary(dashboard_on_pair: Settings) -> None:
    from dashboard import data
    from db.analytics.common import Filters

    settings = dashboard_on_pair
    source = data.read_source()
    assert (source.on_replica, source.fallback) == (True, None)
    assert read_port() == settings.postgres_replica_port
    assert data.catalog_kpis(Filters())["products"] >= PRODUCTS
    at = overview()
    assert any(
        f"Reading from the replica at 127.0.0.1:{settings.postgres_replica_port}: streaming, lag" in c.value
        for c in at.caption
    ), [c.value for c in at.caption]
    assert not at.warning

    assert postgres_server.stop_replica(settings)
    at = overview()  # no traceback: the page reads the primary and says so
    warnings = [w.value for w in at.warning]
    assert any(
        f"read replica at 127.0.0.1:{settings.postgres_replica_port} is not answering" in w
        and f"reading from the primary at 127.0.0.1:{settings.postgres_port}" in w
        for w in warnings
    ), warnings
    assert int(next(m for m in at.metric if m.label == "Products").value.replace(",", "")) >= PRODUCTS
    assert (data.read_source().on_replica, read_port()) == (False, settings.postgres_port)
