"""Shared by the dashboard tests: a database (and index alias) of their own, the seeded searches, driving the app
through `streamlit.testing.v1.AppTest`, and reading what a page shows (metrics, tables, decoded plotly charts)."""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import streamlit as st
from streamlit.testing.v1 import AppTest

from catalog.settings import PROJECT_ROOT, Settings, get_settings
from stack.postgres_server import recreate_database

APP = PROJECT_ROOT / "dashboard" / "app.py"
SEEDED_PRODUCTS = 3000
TIMEOUT = 60


# --- a database (and search index) of the dashboard's own -------------------------------------------------------


@dataclass(frozen=True)
class DashboardDatabase:
    name: str
    alias: str
    dsn: str


def create_database(settings: Settings, name: str) -> str:
    """A freshly migrated database `name` (dropped first if a crashed run left it); returns its URL."""
    from db.migrate import upgrade

    recreate_database(settings, name)
    url = settings.database_url_for(name)
    upgrade(url)
    return url


@contextmanager
def dashboard_env(database: str, alias: str | None = None) -> Iterator[Settings]:
    """Point `get_settings()` (and so the dashboard) at another database/alias; restore afterwards."""
    saved = {key: os.environ.get(key) for key in ("CATALOG_POSTGRES_DB", "CATALOG_INDEX_ALIAS")}
    os.environ["CATALOG_POSTGRES_DB"] = database
    if alias:
        os.environ["CATALOG_INDEX_ALIAS"] = alias
    _reset_caches()
    try:
        yield get_settings()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _reset_caches()


def _reset_caches() -> None:
    get_settings.cache_clear()
    st.cache_data.clear()
    st.cache_resource.clear()


SEARCHES: list[tuple[str, int, float, bool, int]] = [
    # (query, result_count, latency_ms, cached, days ago)
    *[("tv", 120, 12.5, False, 1)] * 5, *[("TV ", 118, 8.0, True, 2)] * 2, *[("laptop", 40, 20.0, False, 3)] * 4,
    *[("sneakers", 15, 9.0, True, 0)] * 3, *[("flux capacitor", 0, 30.0, False, 1)] * 3,
    *[("unobtainium", 0, 25.0, False, 4)] * 2, ("tv", 99, 10.0, False, 200),  # the last one is out of range
]


@dataclass(frozen=True)
class Tracked:
    """Searches that carry a query_id, each with the events its answer got: (type, position) pairs."""

    query: str
    searches: int
    result_count: int
    days_ago: float
    events: tuple[tuple[tuple[str, int | None], ...], ...] = ()
    """Per search, in order; searches beyond the tuple got no event."""
    rule: str | None = None
    """The seeded rule (by name) applied to these searches."""


RULE_DAYS_AGO = 10
RULES = {"Jackets first": ("jacket", RULE_DAYS_AGO), "Scarves on sale": ("scarf", 5)}
"""Seeded rules: name -> (query, created days ago)."""
CLICK, CART, BUY = "click", "add_to_cart", "purchase"
TRACKED: list[Tracked] = [
    Tracked("headphones", 4, 30, 1, (((CLICK, 1), (CLICK, 3), (CART, None)), ((CLICK, 2), (BUY, None)))),
    Tracked("socks", 3, 12, 2),
    Tracked("gizmo", 2, 0, 2),  # no results: not a "results but no click" query
    # "Jackets first": 10 of 25 searches clicked with the rule, 4 of 20 in the 10 days before it ("Jacket" is the
    # same query); the 3 searches 25 days ago are outside that window.
    Tracked("jacket", 25, 50, 5, ((((CLICK, 1),),) * 10), rule="Jackets first"),
    Tracked("Jacket", 20, 50, 15, ((((CLICK, 2),),) * 4)),
    Tracked("jacket", 3, 50, 25, ((((CLICK, 1),),) * 3)),
    Tracked("scarf", 3, 8, 1, (((CLICK, 4),),), rule="Scarves on sale"),  # too few searches to compare
]


def record_searches(dsn: str) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO search_queries (query, result_count, latency_ms, cached, created_at) "
            "VALUES (%s, %s, %s, %s, %s)",
            [(q, n, ms, cached, now - timedelta(days=days, minutes=5)) for q, n, ms, cached, days in SEARCHES])
        rule_ids = {}
        for name, (query, days) in RULES.items():
            cur.execute("INSERT INTO search_rules (name, query, query_terms, created_at) VALUES (%s, %s, %s, %s) "
                        "RETURNING id", (name, query, [query], now - timedelta(days=days)))
            rule_ids[name] = cur.fetchone()[0]  # type: ignore[index]
        for tracked in TRACKED:
            applied = [rule_ids[tracked.rule]] if tracked.rule else []
            for number in range(tracked.searches):
                at = now - timedelta(days=tracked.days_ago, minutes=number)
                query_id = uuid.uuid4()
                cur.execute("INSERT INTO search_queries (query, result_count, latency_ms, cached, created_at, "
                            "query_id, applied_rules) VALUES (%s, %s, 10, false, %s, %s, %s)",
                            (tracked.query, tracked.result_count, at, query_id, applied))
                events = tracked.events[number] if number < len(tracked.events) else ()
                cur.executemany("INSERT INTO search_events (query_id, sku, type, position, created_at) "
                                "VALUES (%s, 'SKU-SEEN', %s, %s, %s)",
                                [(query_id, kind, position, at + timedelta(minutes=1)) for kind, position in events])


@dataclass(frozen=True)
class SeededModel:
    id: int
    code: str
    variant_ids: tuple[int, ...]


# --- driving the app --------------------------------------------------------------------------------------------


def open_model(page: str, code: str, model_id: int) -> AppTest:
    """`page` with its per-model view narrowed to the model `code` (searched for) and that model chosen."""
    at = open_page(page)
    at.text_input(key=f"{page}_model_search").input(code).run()
    at.selectbox(key=f"{page}_model").set_value(model_id).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(page: str, **widgets: Any) -> AppTest:
    """Run the app, set the given sidebar/page widgets (by key), switch to `page`, and render it."""
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.switch_page(f"views/{page}.py").run()
    for key, value in widgets.items():  # every widget a test sets is a selectbox
        at.selectbox(key=key).set_value(value).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return found[0]


def table(at: AppTest, column: str, index: int = 0) -> pd.DataFrame:
    """The `index`-th dataframe on the page that has `column`."""
    frames = [df.value for df in at.dataframe if column in df.value.columns]
    assert len(frames) > index, f"no dataframe with column {column!r}"
    return frames[index].reset_index(drop=True)


def chart(at: AppTest, title_part: str) -> dict[str, Any]:
    """The plotly figure whose title contains `title_part`, its traces' arrays decoded to lists."""
    for element in at.get("plotly_chart"):
        figure: dict[str, Any] = json.loads(element.proto.spec)
        if title_part in figure["layout"].get("title", {}).get("text", ""):
            figure["data"] = [{key: _decoded(value) for key, value in trace.items()} for trace in figure["data"]]
            return figure
    raise AssertionError(f"no chart titled like {title_part!r}")


def _decoded(value: Any) -> Any:
    """Plotly ships numeric arrays as {"dtype", "bdata"[, "shape"]} (base64); other values pass through."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        if "shape" in value:
            array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
        return array.tolist()
    return value


def sql(dsn: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return [tuple(row) for row in conn.execute(query, params).fetchall()]


def scalar(dsn: str, query: str, params: Any = None) -> Any:
    return sql(dsn, query, params)[0][0]


def count(value: str) -> int:
    return int(value.replace(",", ""))


def percent(value: str) -> float:
    return float(value.rstrip("%"))


SUBTREE = "(SELECT id FROM categories WHERE path = %(c)s OR path LIKE %(c)s || '/%%')"
