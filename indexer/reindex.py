"""`catalog reindex`: build `<alias>_v<N+1>` from PostgreSQL, catch up with the outbox, swap the alias.

Why nothing is lost: a short `LOCK TABLE outbox IN SHARE MODE` waits for every in-flight writer, so
every outbox row up to the recorded boundary is committed before the bulk load's snapshot is taken;
everything after the boundary is replayed into the new index. The last replay and the alias swap
happen while holding the alias's fence exclusively, which waits for the streaming indexers' batches
in flight and holds back new ones, so no change can land only in the old index. External versioning
makes the overlap between the load, the replays and the streamer harmless.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from opensearchpy import OpenSearch
from psycopg import Connection, IsolationLevel

from catalog.settings import Settings
from indexer.bulk import Action, BulkWriter
from indexer.client import make_client
from indexer.documents import build_documents, iter_document_pages
from indexer.mapping import ensure_index, index_name, index_versions
from indexer.options import IndexerOptions
from indexer.stream import Change, fence_sql, plan_actions

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (documents loaded so far, total)

_CHANGES_AFTER_SQL = """
SELECT id, product_id, reason, product_version FROM outbox WHERE id > %s ORDER BY id LIMIT %s
"""


@dataclass(frozen=True)
class ReindexResult:
    old_index: str
    new_index: str
    documents: int
    replayed_changes: int
    failed: int
    seconds: float


def outbox_boundary(conn: Connection[Any]) -> int:
    """The highest outbox id once every transaction that could still add a lower one has ended."""
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '60s'")
        conn.execute("LOCK TABLE outbox IN SHARE MODE")
        row = conn.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()
    return int(row[0]) if row else 0


def bulk_load(
    conn: Connection[Any], writer: BulkWriter, index: str, page_size: int, progress: Progress | None
) -> tuple[int, int]:
    """Every product into `index` from one consistent snapshot. Returns (documents, failed)."""
    loaded = failed = 0
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    try:
        with conn.transaction():
            row = conn.execute("SELECT count(*) FROM products").fetchone()
            total = int(row[0]) if row else 0
            if progress:
                progress(0, total)
            for page in iter_document_pages(conn, page_size):
                outcome = writer.write(index, [Action(d["id"], int(d["version"]), d) for d in page])
                failed += len(outcome.failed)
                loaded += len(page)
                if progress:
                    progress(loaded, total)
    finally:
        conn.isolation_level = None
    return loaded, failed


def replay_changes(
    conn: Connection[Any], writer: BulkWriter, index: str, after_id: int, page_size: int
) -> tuple[int, int, int]:
    """Apply every outbox change after `after_id` to `index`. Returns (last id, changes, failed)."""
    replayed = failed = 0
    while True:
        rows = conn.execute(_CHANGES_AFTER_SQL, (after_id, page_size)).fetchall()
        if not rows:
            return after_id, replayed, failed
        changes = [Change(*row) for row in rows]
        docs = build_documents(conn, list(dict.fromkeys(c.product_id for c in changes)))
        outcome = writer.write(index, plan_actions(changes, docs))
        failed += len(outcome.failed)
        replayed += len(changes)
        after_id = changes[-1].id


def swap_alias(client: OpenSearch, alias: str, old: str, new: str) -> None:
    client.indices.update_aliases(
        body={
            "actions": [
                {"remove": {"index": old, "alias": alias}},
                {"add": {"index": new, "alias": alias}},
            ]
        }
    )


def reindex(
    settings: Settings,
    options: IndexerOptions | None = None,
    keep_old: bool = False,
    page_size: int = 1000,
    progress: Progress | None = None,
) -> ReindexResult:
    """Build a new index version from PostgreSQL and point the alias at it with zero search downtime."""
    options = options or IndexerOptions.from_settings(settings)
    started = time.perf_counter()
    client = make_client(settings, timeout=120)
    alias = settings.index_alias
    old = ensure_index(client, settings, options.refresh_interval)
    new = index_name(alias, index_versions(client, alias)[-1] + 1)
    # No refreshes while loading: the index is invisible until the swap anyway.
    client.indices.create(index=new, body={"settings": {"refresh_interval": "-1"}})
    writer = BulkWriter(
        client,
        max_bytes=options.batch_bytes,
        attempts=options.bulk_attempts,
        backoff_base=options.backoff_base,
        backoff_max=options.backoff_max,
    )
    swapped = False
    try:
        with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
            boundary = outbox_boundary(conn)
            documents, failed = bulk_load(conn, writer, new, page_size, progress)
            last, replayed, replay_failed = replay_changes(conn, writer, new, boundary, page_size)
            # One segment before it serves: every search then walks one term dictionary and one set of doc values
            # instead of the dozens the bulk load left (outside the fence: writers are not held up by it).
            client.indices.forcemerge(index=new, max_num_segments=1, request_timeout=3600)
            with conn.transaction():
                conn.execute(fence_sql("xact_lock"), (alias,))
                last, final, final_failed = replay_changes(conn, writer, new, last, page_size)
                client.indices.put_settings(
                    index=new, body={"index": {"refresh_interval": options.refresh_interval}}
                )
                client.indices.refresh(index=new)
                swap_alias(client, alias, old, new)
                swapped = True
    except BaseException:
        if not swapped:
            client.indices.delete(index=new, ignore_unavailable=True)
        raise
    if not keep_old:
        client.indices.delete(index=old, ignore_unavailable=True)
    log.info("reindexed %d products into %s (replayed %d changes)", documents, new, replayed + final)
    return ReindexResult(
        old,
        new,
        documents,
        replayed + final,
        failed + replay_failed + final_failed,
        time.perf_counter() - started,
    )
