"""Test session: the real stack (started or reused), a fresh migrated database and index alias per run.

Each pytest session gets its own database `catalog_test_<id>` and index alias `test_<id>_products`, so
sessions can run side by side and never touch the development catalog.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING

import pytest

# Before any project import: catalog.settings reads these. tests.helpers.run imports nothing of the project.
from tests.helpers.run import RUN_ID, TEST_PASSWORD

os.environ["CATALOG_ENVIRONMENT"] = "test"
os.environ["CATALOG_POSTGRES_DB"] = f"catalog_test_{RUN_ID}"
os.environ["CATALOG_INDEX_ALIAS"] = f"test_{RUN_ID}_products"
os.environ["CATALOG_S3_BUCKET"] = f"test-{RUN_ID}-media"  # `catalog media gc` must only ever see this session's
# Limits high enough that the suite never trips them unless a test means to.
os.environ.setdefault("CATALOG_RATE_LIMIT_PER_MINUTE", "1000000")
os.environ.setdefault("CATALOG_AUTH_RATE_LIMIT_PER_MINUTE", "1000000")

from sqlalchemy import Engine, create_engine

from catalog.settings import Settings, get_settings
from tests.helpers.catalog_rows import CatalogRows

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient, TestClient


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def stack(settings: Settings) -> Settings:
    """Bring the stack up, or reuse the healthy one that is already running."""
    from stack import manager

    manager.up(settings, say=lambda message: None)
    return settings


@pytest.fixture(scope="session")
def database(stack: Settings) -> Iterator[str]:
    """A fresh database with every migration applied; dropped at the end of the session."""

    from db.migrate import upgrade
    from stack.postgres_server import drop_database, ensure_database

    ensure_database(stack, stack.postgres_db)
    upgrade(stack.database_url)
    yield stack.database_url
    from db.session import sync_engine

    sync_engine.cache_clear()
    drop_database(stack, stack.postgres_db)


@pytest.fixture(scope="session")
def engine(database: str) -> Iterator[Engine]:
    eng = create_engine(database, pool_size=5, max_overflow=10)
    yield eng
    eng.dispose()


@pytest.fixture
def unique() -> str:
    """A short unique token for names, SKUs and emails, so tests never collide."""
    return uuid.uuid4().hex[:10]


# --- API fixtures: an app on the test database and a token per role ---


@pytest.fixture(scope="session")
async def client(database: str, settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    from litestar.testing import AsyncTestClient

    from api.app import create_app

    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def users_by_role(engine: Engine, settings: Settings) -> dict[str, uuid.UUID]:
    """One active user per role (plus the self-registered default role), created once per session."""
    from sqlalchemy import text

    from api.auth.security import hash_password
    from db.models import Role

    ids: dict[str, uuid.UUID] = {}
    password_hash = hash_password(TEST_PASSWORD)
    with engine.begin() as conn:
        for role in Role:
            user_id = uuid.uuid4()
            conn.execute(
                text("INSERT INTO users (id, email, password_hash, roles) VALUES (:id, :email, :h, :roles)"),
                {
                    "id": user_id,
                    "email": f"{role.value}-{RUN_ID}@example.com",
                    "h": password_hash,
                    "roles": [role.value],
                },
            )
            ids[role.value] = user_id
    return ids



@pytest.fixture(scope="session")
def auth_headers(users_by_role: dict[str, uuid.UUID], settings: Settings) -> Callable[[str], dict[str, str]]:
    """`auth_headers("merchandiser")` -> {"Authorization": "Bearer ..."} for that role's test user."""
    from api.auth.security import issue_token

    def headers(role: str) -> dict[str, str]:
        token = issue_token(settings, users_by_role[role], [role])
        return {"Authorization": f"Bearer {token}"}

    return headers


# --- indexer fixtures ---

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    from indexer.stream import OutboxConsumer


@pytest.fixture(scope="session")
def search_index(stack: Settings, database: str) -> Iterator[str]:
    """The session's alias with its first index version; every `<alias>_v*` index is deleted at the end."""
    from indexer.client import make_client
    from indexer.mapping import ensure_index, template_name

    os_client = make_client(stack)
    ensure_index(os_client, stack)
    yield stack.index_alias
    os_client.indices.delete(index=f"{stack.index_alias}_v*", ignore_unavailable=True)
    os_client.indices.delete_index_template(name=template_name(stack.index_alias))
    os_client.close()


@pytest.fixture
async def shop(client: AsyncTestClient[Litestar], search_index: str) -> AsyncTestClient[Litestar]:
    """The API client, once the session's search index exists (the storefront's tests)."""
    return client


@pytest.fixture(scope="session")
def os_client(stack: Settings) -> Iterator[OpenSearch]:
    from indexer.client import make_client

    os_client = make_client(stack)
    yield os_client
    os_client.close()


@pytest.fixture
def catalog_rows(database: str, settings: Settings) -> Iterator[CatalogRows]:
    rows = CatalogRows(settings.postgres_dsn)
    yield rows
    rows.conn.close()


@pytest.fixture
def consumer(search_index: str, settings: Settings) -> Iterator[OutboxConsumer]:
    """An in-process outbox consumer on the session alias (call `drain()` to index what is queued)."""
    from indexer.options import IndexerOptions
    from indexer.stream import OutboxConsumer

    outbox_consumer = OutboxConsumer(settings, IndexerOptions(batch_size=200, backoff_base=0.05))
    yield outbox_consumer
    outbox_consumer.close()


@pytest.fixture(scope="session")
def threaded_client(database: str, settings: Settings) -> Iterator[TestClient[Litestar]]:
    """A sync client on its own app (own engine and pool) that many threads can call at once.

    The async client serves one request at a time, so concurrency tests must use this one.
    """
    from litestar.testing import TestClient

    from api.app import create_app

    with TestClient(app=create_app(settings)) as test_client:
        yield test_client
