"""A catalog of a test's own, next to the session's: a fresh migrated database and, if asked, an index alias.

For tests whose figures must not see what other tests wrote into the shared session catalog: catalog-wide series,
index-wide BM25 statistics, random creates and deletes. Both are dropped on exit.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING

from catalog.settings import Settings

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

Headers = Callable[[str], dict[str, str]]


@contextmanager
def own_catalog(base: Settings, suffix: str, index: bool = True) -> Iterator[Settings]:
    """`base` re-pointed at database `<db>_<suffix>` (migrated to head) and alias `<alias>_<suffix>` (created when
    `index`), both of them new; dropped (the database) and deleted (every `<alias>_<suffix>_v*`) afterwards."""
    from db.migrate import upgrade
    from db.session import sync_engine
    from indexer.client import make_client
    from indexer.mapping import ensure_index, template_name
    from stack.postgres_server import drop_database, recreate_database

    own = base.model_copy(update={"postgres_db": f"{base.postgres_db}_{suffix}",
                                  "index_alias": f"{base.index_alias}_{suffix}"})
    recreate_database(own, own.postgres_db)
    upgrade(own.database_url)
    os_client = make_client(own) if index else None
    if os_client is not None:
        ensure_index(os_client, own)
    try:
        yield own
    finally:
        sync_engine.cache_clear()
        if os_client is not None:
            os_client.indices.delete(index=f"{own.index_alias}_v*", ignore_unavailable=True)
            os_client.indices.delete_index_template(name=template_name(own.index_alias))
            os_client.close()
        drop_database(own, own.postgres_db)


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The API on `settings`' database and index, in-process."""
    from litestar.testing import AsyncTestClient

    from api.app import create_app

    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


def role_headers(settings: Settings) -> Headers:
    """`headers(role)`: a token of that role, signed as the app on `settings` expects (tokens carry the roles)."""
    from api.auth.security import issue_token

    def headers(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(settings, uuid.uuid4(), [role])}"}

    return headers
