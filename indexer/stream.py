"""The outbox consumer behind `catalog indexer run`: claim, build from current state, `_bulk`, mark done.

One batch is one PostgreSQL transaction: rows are claimed with `FOR UPDATE SKIP LOCKED` (so any
number of indexers can run side by side without double work), the documents are built from the
current database state, written with external versioning (an older document can never overwrite a
newer one, so reordering between indexers is harmless), made visible by a refresh, and only then are
the rows marked processed and the transaction committed. A crash at any point leaves the rows
unprocessed, and replaying them is idempotent.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import psycopg
import redis
from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError
from psycopg import Connection
from psycopg.types.json import Jsonb

from catalog import index_contract
from catalog.settings import Settings
from indexer import metrics
from indexer.bulk import Action, BulkOutcome, BulkWriter, Refresh, TransientBulkError
from indexer.client import make_client, make_redis
from indexer.documents import Document, build_documents
from indexer.options import IndexerOptions

log = logging.getLogger(__name__)

CHANNEL = "catalog_outbox"
# Advisory-lock namespace: batches hold it shared, a reindex takes it exclusively for its final swap.
FENCE_NAMESPACE = 4_2024

_CLAIM_SQL = """
SELECT id, product_id, reason, product_version FROM outbox
WHERE processed_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
"""
_MARK_PROCESSED_SQL = (
    "UPDATE outbox SET processed_at = clock_timestamp(), attempts = attempts + 1 WHERE id = ANY(%s)"
)
_DEAD_LETTER_SQL = "INSERT INTO dead_letters (outbox_id, product_id, error, document) VALUES (%s, %s, %s, %s)"
_LAST_ERROR_SQL = "UPDATE outbox SET last_error = %s WHERE id = ANY(%s)"
_RECORD_FAILURE_SQL = """
UPDATE outbox SET attempts = attempts + 1, last_error = %s WHERE id = ANY(%s) AND processed_at IS NULL
"""
_PRUNE_SQL = """
DELETE FROM outbox WHERE id IN (
    SELECT id FROM outbox WHERE processed_at < clock_timestamp() - make_interval(secs => %s) LIMIT %s)
"""
PRUNE_CHUNK = 10_000


@dataclass(frozen=True)
class Change:
    """One outbox row."""

    id: int
    product_id: int
    reason: str
    product_version: int


@dataclass(frozen=True)
class BatchResult:
    claimed: int = 0
    products: int = 0
    written: int = 0
    superseded: int = 0
    dead_lettered: int = 0
    last_change_id: int | None = None

    @property
    def empty(self) -> bool:
        return self.claimed == 0


def fence_sql(mode: str) -> str:
    """SQL taking the alias's reindex fence in `mode` (a pg_advisory_* function name suffix)."""
    return f"SELECT pg_advisory_{mode}({FENCE_NAMESPACE}, hashtext(%s))"


def plan_actions(changes: list[Change], docs: dict[int, Document]) -> list[Action]:
    """One action per product: index its current document, or delete it if it no longer exists.

    A product missing from the database without a 'delete' change in this batch was deleted after
    these changes were queued; its own 'delete' change (a later row) removes the document.
    """
    delete_versions: dict[int, int] = {}
    for change in changes:
        if change.reason == "delete":
            delete_versions[change.product_id] = max(
                change.product_version, delete_versions.get(change.product_id, 0)
            )
    actions: list[Action] = []
    for product_id in dict.fromkeys(c.product_id for c in changes):
        doc = docs.get(product_id)
        if doc is not None:
            actions.append(Action(product_id, int(doc["version"]), doc))
        elif product_id in delete_versions:
            actions.append(Action(product_id, delete_versions[product_id]))
    return actions


class OutboxConsumer:
    """Consumes the outbox into the alias `settings.index_alias`. Not thread-safe; one per thread."""

    def __init__(
        self,
        settings: Settings,
        options: IndexerOptions | None = None,
        client: OpenSearch | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.options = options or IndexerOptions.from_settings(settings)
        self.alias = settings.index_alias
        self.client = client or make_client(settings)
        self.stop = stop or threading.Event()
        self.writer = BulkWriter(
            self.client,
            max_bytes=self.options.batch_bytes,
            attempts=self.options.bulk_attempts,
            backoff_base=self.options.backoff_base,
            backoff_max=self.options.backoff_max,
            should_stop=self.stop.is_set,
        )
        self.redis: redis.Redis = make_redis(settings)
        self._conn: Connection[Any] | None = None
        self._listener: Connection[Any] | None = None
        self._claimed_ids: list[int] = []
        self._redis_warned_at = 0.0

    # --- connections ------------------------------------------------------------------------------
    @property
    def conn(self) -> Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.settings.postgres_dsn, autocommit=True)
        return self._conn

    def close(self) -> None:
        for conn in (self._conn, self._listener):
            if conn is not None and not conn.closed:
                conn.close()
        self.redis.close()

    # --- one batch ----------------------------------------------------------------------------------
    def process_batch(self) -> BatchResult:
        """Claim, write and commit one batch. Raises on transient failure (rows stay unprocessed)."""
        started = time.perf_counter()
        self._claimed_ids = []
        with self.conn.transaction():
            self.conn.execute(fence_sql("xact_lock_shared"), (self.alias,))
            changes = self._claim()
            if not changes:
                return BatchResult()
            self._claimed_ids = [c.id for c in changes]
            docs = build_documents(self.conn, list(dict.fromkeys(c.product_id for c in changes)))
            actions = plan_actions(changes, docs)
            outcome = self._write(actions, full=len(changes) >= self.options.batch_size)
            self._dead_letter(changes, docs, outcome)
            self.conn.execute(_MARK_PROCESSED_SQL, (self._claimed_ids,))
        self._claimed_ids = []
        self._publish_generation()
        metrics.DOCS_INDEXED.inc(outcome.written)
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        return BatchResult(
            len(changes),
            len(actions),
            outcome.written,
            outcome.superseded,
            len(outcome.failed),
            changes[-1].id,
        )

    def _claim(self) -> list[Change]:
        rows = self.conn.execute(_CLAIM_SQL, (self.options.batch_size,)).fetchall()
        return [Change(*row) for row in rows]

    def _write(self, actions: list[Action], full: bool) -> BulkOutcome:
        """Write and make visible: processed_at must mean searchable (read-your-writes)."""
        if not actions:
            return BulkOutcome()
        # A backlog refreshes once per batch; a caught-up stream may instead ride the scheduled refresh.
        ride_schedule = not full and self.options.visibility == "wait_for"
        refresh: Refresh = "wait_for" if ride_schedule else "false"
        outcome = self.writer.write(self.alias, actions, refresh=refresh)
        # 409s mean another indexer wrote a newer version, maybe not yet visible: refresh to be sure.
        if not ride_schedule or outcome.conflicts:
            self._refresh()
        return outcome

    def _refresh(self) -> None:
        try:
            self.client.indices.refresh(index=self.alias)
        except (OSConnectionError, TransportError) as exc:
            raise TransientBulkError(f"refresh failed: {exc}") from exc

    def _dead_letter(self, changes: list[Change], docs: dict[int, Document], outcome: BulkOutcome) -> None:
        """Park permanently failing documents so they never block the stream."""
        for product_id, error in outcome.failed.items():
            ids = [c.id for c in changes if c.product_id == product_id]
            doc = docs.get(product_id)
            log.error("dead letter: product %s (outbox %s): %s", product_id, ids[-1], error)
            self.conn.execute(_DEAD_LETTER_SQL, (ids[-1], product_id, error, Jsonb(doc) if doc else None))
            self.conn.execute(_LAST_ERROR_SQL, (error, ids))

    def _publish_generation(self) -> None:
        """Bump the alias's generation in Redis; Redis being down never stops indexing."""
        try:
            self.redis.incr(index_contract.generation_key(self.alias))
        except redis.RedisError as exc:
            if time.monotonic() - self._redis_warned_at > 60:
                log.warning("could not bump the index generation in Redis (continuing): %s", exc)
                self._redis_warned_at = time.monotonic()

    def record_failure(self, error: str) -> None:
        """Count a failed attempt on the rows of the batch that was rolled back."""
        if self._claimed_ids:
            self.conn.execute(_RECORD_FAILURE_SQL, (error[:2000], self._claimed_ids))
            self._claimed_ids = []

    # --- loops ------------------------------------------------------------------------------------------
    def drain(self, max_batches: int | None = None) -> int:
        """Process batches until the outbox is empty (or max_batches); returns changes processed."""
        total = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            result = self.process_batch()
            if result.empty:
                break
            total += result.claimed
            batches += 1
        return total

    def prune(self) -> int:
        """Delete processed outbox rows older than the retention, in chunks."""
        deleted = 0
        while True:
            cur = self.conn.execute(_PRUNE_SQL, (self.options.retention_hours * 3600, PRUNE_CHUNK))
            deleted += cur.rowcount
            if cur.rowcount < PRUNE_CHUNK or self.stop.is_set():
                return deleted

    def run(self) -> None:
        """Consume until `stop` is set; the batch in flight is always finished first."""
        self._listen()
        next_prune = next_stats = 0.0
        failures = 0
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_stats:
                self._refresh_lag_metrics()
                next_stats = now + self.options.stats_every
            if now >= next_prune:
                self._prune_logged()
                next_prune = now + self.options.prune_every
            try:
                result = self.process_batch()
            except (TransientBulkError, OSConnectionError, TransportError, psycopg.OperationalError) as exc:
                failures += 1
                self._after_failure(exc, failures)
                continue
            failures = 0
            if result.empty:
                self._wait_for_notify()

    def _after_failure(self, exc: Exception, failures: int) -> None:
        log.warning("batch failed (%d in a row), will retry: %s", failures, exc)
        try:
            self.record_failure(str(exc))
        except psycopg.Error as db_exc:
            log.warning("could not record the failure: %s", db_exc)
            self._reset_connections()
        if isinstance(exc, psycopg.OperationalError):
            self._reset_connections()
        delay = min(self.options.backoff_max, self.options.backoff_base * 2 ** min(failures, 16))
        self.stop.wait(delay)

    def _reset_connections(self) -> None:
        for conn in (self._conn, self._listener):
            if conn is not None:
                conn.close()
        self._conn = self._listener = None

    def _listen(self) -> None:
        try:
            self._listener = psycopg.connect(self.settings.postgres_dsn, autocommit=True)
            self._listener.execute(f"LISTEN {CHANNEL}")
        except psycopg.OperationalError as exc:
            log.warning("LISTEN failed, polling only: %s", exc)
            self._listener = None

    def _wait_for_notify(self) -> None:
        """Sleep until a NOTIFY arrives or the poll interval passes (polling is the fallback)."""
        if self._listener is None or self._listener.closed:
            self._listen()
        if self._listener is None:
            self.stop.wait(self.options.poll_interval)
            return
        try:
            for _ in self._listener.notifies(timeout=self.options.poll_interval, stop_after=1):
                pass
        except psycopg.OperationalError as exc:
            log.warning("LISTEN connection lost, reconnecting: %s", exc)
            self._listener = None
            self.stop.wait(self.options.poll_interval)

    def _refresh_lag_metrics(self) -> None:
        try:
            metrics.publish(metrics.lag_stats(self.conn))
        except psycopg.Error as exc:
            log.warning("lag metrics unavailable: %s", exc)
            self._reset_connections()

    def _prune_logged(self) -> None:
        try:
            deleted = self.prune()
        except psycopg.Error as exc:
            log.warning("outbox prune failed: %s", exc)
            self._reset_connections()
            return
        if deleted:
            log.info("pruned %d processed outbox rows", deleted)


def run_workers(settings: Settings, options: IndexerOptions, stop: threading.Event, workers: int = 1) -> None:
    """Run `workers` consumers side by side (SKIP LOCKED splits the backlog) until `stop` is set.

    Batches of one consumer build documents while another's `_bulk` is in flight, which uses both
    PostgreSQL and OpenSearch instead of waiting on them in turn.
    """
    consumers = [OutboxConsumer(settings, options, stop=stop) for _ in range(workers)]
    threads = [threading.Thread(target=c.run, name=f"indexer-{i}") for i, c in enumerate(consumers[1:], 1)]
    for thread in threads:
        thread.start()
    try:
        consumers[0].run()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        for consumer in consumers:
            consumer.close()
