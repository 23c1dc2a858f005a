"""A catalog of a test's own, next to the session's: a fresh migrated database and, if asked, an index alias.

For tests whose figures must not see what other tests wrote into the shared session catalog: catalog-wide series,
index-wide BM25 statistics, random creates and deletes. Both are dropped on exit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from catalog.settings import Settings


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
