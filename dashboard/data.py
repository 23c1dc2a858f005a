"""The dashboard's data access: one cached engine and OpenSearch client, and cached wrappers around db.analytics.

Every wrapper takes hash-friendly arguments (frozen dataclasses, strings, numbers) and keeps its result for
`TTL_SECONDS`, so moving between pages and widgets does not re-run SQL. One process serves one database.

The dashboard's sessions turn JIT compilation off (on the whole-catalog queries PostgreSQL spent up to 1.7 s
compiling, more than the query itself) and get a larger work_mem (sorts and hashes stay in memory); the pool
is small and queries run one after another, so memory stays bounded.

Every query reads from `db.session.read_source`: the read replica when one is configured (CATALOG_POSTGRES_READ_*
or CATALOG_POSTGRES_REPLICA=true) and answering, else the primary; the choice is re-checked every
`READ_CHECK_SECONDS`, so a replica going down moves the pages to the primary (and `read_status` says so).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

import pandas as pd
import streamlit as st
from opensearchpy import OpenSearch
from sqlalchemy import Engine, create_engine

from catalog.settings import get_settings
from dashboard import search_data
from db import analytics, media_reports, quality_groups, replication
from db import session as db_session
from db.analytics import engagement, webhooks
from db.analytics.common import Filters
from db.replication import ReplicaLag
from db.session import ReadSource

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

TTL_SECONDS = 60
STATEMENT_TIMEOUT_MS = 30_000
SESSION_OPTIONS = f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c jit=off -c work_mem=64MB"
EMPTY_CATALOG = ("No products yet — run `catalog seed --products 10000` to load the demo catalog "
                 "(`make run` also seeds an empty catalog), or import products through the API.")


READ_CHECK_SECONDS = 5


@st.cache_data(ttl=READ_CHECK_SECONDS, show_spinner=False)
def read_source() -> ReadSource:
    """The server the pages read from now (the replica, or the primary when it is not answering)."""
    return db_session.read_source(get_settings())


@st.cache_resource
def _engine_for(url: str) -> Engine:
    """A small pool: a dashboard session runs its queries one after another. Long queries are cut off."""
    return create_engine(url, pool_size=2, max_overflow=3, pool_pre_ping=True,
                         connect_args={"options": SESSION_OPTIONS,
                                       "connect_timeout": get_settings().postgres_read_connect_timeout})


def engine() -> Engine:
    """Where the pages read (see `read_source`)."""
    return _engine_for(read_source().url)


def _read(query: Callable[Concatenate[Engine, P], R], ttl: int = TTL_SECONDS,
          spinner: bool | str = False) -> Callable[P, R]:
    """`query` (a db.analytics-style function taking the engine first) run on the read engine, its result kept for
    `ttl` seconds per argument tuple: the one shape of every cached wrapper the pages call.

    Each wrapper is its own cache: Streamlit keys a cached function by its module, qualified name and source, and
    the qualified name is set to the query's (one `cached` source would otherwise be one cache for all of them).
    """
    def cached(*args: P.args, **kwargs: P.kwargs) -> R:
        return query(engine(), *args, **kwargs)

    cached.__name__ = query.__name__
    cached.__qualname__ = f"{query.__module__}.{query.__qualname__}"
    cached.__doc__ = query.__doc__
    wrapped: Callable[P, R] = st.cache_data(ttl=ttl, show_spinner=spinner)(cached)
    return wrapped


def primary_engine() -> Engine:
    """The primary, for the dashboard's one write (folding the facts' deltas): a replica refuses writes."""
    return _engine_for(get_settings().database_url)


@st.cache_data(ttl=READ_CHECK_SECONDS, show_spinner=False)
def replica_lag() -> ReplicaLag | None:
    """The replica's lag when the pages read from one (None: reading the primary, or the lag is unreadable)."""
    if not read_source().on_replica:
        return None
    try:
        return replication.replica_lag(engine())
    except Exception as exc:
        log.warning("replica lag unavailable: %s", exc)
        return None


def read_status() -> tuple[str, str] | None:
    """("info" | "warning", a line for the page) when a read server is configured; None when reads go to the
    primary by design (nothing to say)."""
    if not get_settings().reads_elsewhere:
        return None
    source = read_source()
    if source.fallback:
        return ("warning", source.fallback)
    lag = replica_lag()
    if lag is None:
        return ("info", f"Reading from the replica at {source.address} (lag unknown).")
    if not lag.in_recovery:
        return ("warning", f"The read server at {source.address} is not a standby (promoted?): it is not "
                           "following the primary.")
    stream = "streaming" if lag.streaming else "NOT streaming from the primary (figures may be stale)"
    return ("warning" if not lag.streaming else "info",
            f"Reading from the replica at {source.address}: {stream}, lag {lag.seconds:.1f} s "
            f"({lag.bytes / 1024:,.0f} KiB to replay).")


@st.cache_resource
def search_client() -> OpenSearch:
    return search_data.make_client(get_settings())


def index_alias() -> str:
    return get_settings().index_alias


def require_catalog() -> None:
    """Stop the page with an explanation when the database is unreachable or holds no products. Says where the
    page reads when a read replica is configured (and that it fell back to the primary when the replica is down)."""
    if get_settings().reads_elsewhere:
        read_source.clear()  # one check per page run: a replica that went down moves this run to the primary
    try:
        present = _has_products_rechecking_replica()
    except Exception as exc:
        settings = get_settings()
        st.error(f"Cannot read the catalog database `{settings.postgres_db}` at {settings.postgres_host}:"
                 f"{settings.postgres_port} — start the stack with `catalog stack up`, then "
                 f"`catalog db upgrade`. ({type(exc).__name__})")
        st.stop()
    show_read_status()
    if not present:
        st.info(EMPTY_CATALOG)
        st.stop()


def _has_products_rechecking_replica() -> bool:
    """has_products(); when the replica fails between two checks of `read_source`, check again at once (the
    primary answers then) instead of showing the error."""
    try:
        return has_products()
    except Exception:
        if not read_source().on_replica:
            raise
        read_source.clear()
        return has_products()


def show_read_status() -> None:
    """One line under the title: which server the page reads and the replica's lag (only with a read server)."""
    status = read_status()
    if status is None:
        return
    level, line = status
    if level == "warning":
        st.warning(line, icon=":material/database:")
    else:
        st.caption(line)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def has_products() -> bool:
    present = analytics.has_products(engine())
    if present:
        compact_facts()
    return present


def compact_facts() -> None:
    """Fold the per-category sums' deltas when writes have piled them up (best effort: a read-only role or a
    lock wait must not take a page down; the sums are exact either way, only slower to add up)."""
    try:
        analytics.compact_facts(primary_engine())
    except Exception as exc:
        log.warning("catalog_facts not compacted: %s", exc)


# --- filter options (they change rarely) --------------------------------------------------------------------


categories = _read(analytics.categories, ttl=TTL_SECONDS * 5)
brands = _read(analytics.brands, ttl=TTL_SECONDS * 5)
warehouses = _read(analytics.warehouses, ttl=TTL_SECONDS * 5)


# --- overview and inventory -------------------------------------------------------------------------------------


status_counts = _read(analytics.status_counts)
catalog_kpis = _read(analytics.catalog_kpis)
changes_24h = _read(analytics.changes_24h)
stock_kpis = _read(analytics.stock_kpis)
stock_by_category = _read(analytics.stock_by_category)
stock_by_warehouse = _read(analytics.stock_by_warehouse)
low_stock = _read(analytics.low_stock)
models_stock = _read(quality_groups.models_stock)
model_variants_stock = _read(quality_groups.group_variants_stock)


# --- pricing ----------------------------------------------------------------------------------------------------


price_overview = _read(analytics.price_overview)


def currencies(f: Filters) -> pd.DataFrame:
    return price_overview(f).currencies


def price_quantiles(f: Filters, currency: str) -> pd.DataFrame:
    return price_overview(f).quantiles_for(currency)


def price_histogram(f: Filters, currency: str) -> pd.DataFrame:
    return price_overview(f).histogram_for(currency)


price_changes_daily = _read(analytics.price_changes_daily)
biggest_movers = _read(analytics.biggest_movers)


# --- catalog quality --------------------------------------------------------------------------------------------


quality_kpis = _read(analytics.quality_kpis)
completeness_by_category = _read(analytics.completeness_by_category)
missing_fields = _read(analytics.missing_fields)
worst_records = _read(analytics.worst_records)
product_card = _read(media_reports.product_card)
duplicates = _read(analytics.duplicates, spinner="Looking for likely duplicates …")
models_quality = _read(quality_groups.models_quality)
model_variants_quality = _read(quality_groups.group_variants_quality)
quality_trend = _read(analytics.quality_trend)


# --- search insights --------------------------------------------------------------------------------------------


search_kpis = _read(analytics.search_kpis)
top_queries = _read(analytics.top_queries)
searches_daily = _read(analytics.searches_daily)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def facet(f: Filters, field: str, attribute: str | None = None) -> search_data.FacetResult:
    return search_data.facet(search_client(), index_alias(), f, field, attribute)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def attribute_names(f: Filters) -> list[str]:
    return search_data.attribute_names(search_client(), index_alias(), f)


engagement_kpis = _read(engagement.engagement_kpis)
query_engagement = _read(engagement.query_engagement)
no_click_queries = _read(engagement.no_click_queries)
rule_effect = _read(engagement.rule_effect)
webhook_delivery_counts = _read(webhooks.webhook_delivery_counts)
failed_webhook_deliveries = _read(webhooks.failed_webhook_deliveries)
