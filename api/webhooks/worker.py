"""The webhook delivery worker (`catalog webhooks worker`): change log -> deliveries -> signed POSTs.

Fan-out reads the change log in commit order from the worker's own durable progress (`webhook_progress`, never
the indexer's outbox rows) and, in the same transaction that advances it, inserts one delivery per subscribed
endpoint and event. Sending is separate: each endpoint has its own semaphore of `webhook_concurrency_per_endpoint`
requests in flight, each with a timeout, so a slow or dead receiver only ever holds its own slots (a claim
prefetches a few rounds' worth per endpoint, so one query feeds many sends); within an endpoint a product's
deliveries go one at a time in commit order. A failure is retried with exponential backoff until the retry window
(hours) is over, then marked failed. Delivery is at least once: a crash after the receiver answered and before
the result was recorded sends it again (receivers dedupe on the payload's `id`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from api.webhooks import events, signing
from catalog.settings import Settings
from db import changes, webhooks
from db.notify import listen

log = logging.getLogger("catalog.webhooks")

CHANNEL = "catalog_changes"
FAN_OUT_BATCH = 500
# Deliveries claimed per endpoint: PREFETCH x its concurrency, so one claim query feeds many sends.
PREFETCH = 8
HOUSEKEEPING_SECONDS = 60.0


@dataclass(frozen=True)
class Delivery:
    id: int
    endpoint_id: int
    url: str
    secret: str
    event: str
    payload: dict[str, Any]
    attempts: int


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """Doubling from the base, capped, with +-20% jitter so retries of many deliveries spread out."""
    delay = min(settings.webhook_backoff_max_seconds, settings.webhook_backoff_base_seconds * 2 ** (attempts - 1))
    return float(delay * random.uniform(0.8, 1.2))


class WebhookWorker:
    """Runs until `stop` is set. One per process; several processes may run (claims and fan-out are safe)."""

    def __init__(self, settings: Settings, stop: asyncio.Event | None = None) -> None:
        self.settings = settings
        self.stop = stop or asyncio.Event()
        self._work = asyncio.Event()
        self._changes = asyncio.Event()
        self._in_flight: Counter[int] = Counter()  # claimed and not yet recorded, per endpoint
        self._endpoint_slots: dict[int, asyncio.Semaphore] = {}
        self._sends: set[asyncio.Task[None]] = set()
        self._pool: AsyncConnectionPool | None = None
        self._client: httpx.AsyncClient | None = None

    @property
    def pool(self) -> AsyncConnectionPool:
        assert self._pool is not None, "run() opens the pool"
        return self._pool

    # --- fan-out ------------------------------------------------------------------------------------------------
    async def fan_out_once(self) -> int:
        """Turn the next committed changes into deliveries; returns how many changes were consumed."""
        async with self.pool.connection() as conn, conn.transaction():
            row = await (await conn.execute(webhooks.LOCK_PROGRESS_SQL)).fetchone()
            assert row is not None
            after = changes.Cursor(int(row[0]), int(row[1]))
            watermark_row = await (await conn.execute(changes.WATERMARK_SQL)).fetchone()
            assert watermark_row is not None
            params = changes.read_params(after, int(watermark_row[0]), FAN_OUT_BATCH)
            found = [
                changes.change_from_row(r) for r in await (await conn.execute(changes.READ_SQL, params)).fetchall()
            ]
            if not found:
                return 0
            inserted = await self._insert_deliveries(conn, found)
            last = found[-1].cursor
            await conn.execute(webhooks.ADVANCE_PROGRESS_SQL, {"seq": last.commit_seq, "id": last.change_id})
        if inserted:
            self._work.set()
        return len(found)

    async def _insert_deliveries(self, conn: psycopg.AsyncConnection[Any], found: list[changes.Change]) -> int:
        endpoints = await (await conn.execute(webhooks.ACTIVE_ENDPOINTS_SQL)).fetchall()
        if not endpoints:
            return 0
        stock_ids = sorted({c.product_id for c in found if c.entity == "stock" and c.product_id is not None})
        thresholds: dict[int, int] = {}
        if stock_ids:
            rows = await (await conn.execute(webhooks.THRESHOLDS_SQL, {"ids": stock_ids})).fetchall()
            thresholds = {int(pid): int(t) for pid, t in rows if t is not None}
        columns: dict[str, list[Any]] = {
            k: [] for k in ("endpoints", "changes", "seqs", "events", "products", "payloads")
        }
        for change in found:
            threshold = thresholds.get(change.product_id or 0, self.settings.webhook_low_stock_default)
            for event in events.events_of(change, threshold):
                body = events.payload(change, event, threshold)
                for endpoint_id, subscribed, start_seq in endpoints:
                    if event in subscribed and change.cursor.commit_seq > start_seq:
                        columns["endpoints"].append(endpoint_id)
                        columns["changes"].append(change.cursor.change_id)
                        columns["seqs"].append(change.cursor.commit_seq)
                        columns["events"].append(event)
                        columns["products"].append(change.product_id)
                        columns["payloads"].append(Jsonb(body))
        if not columns["endpoints"]:
            return 0
        await conn.execute(webhooks.INSERT_DELIVERIES_SQL, columns)
        return len(columns["endpoints"])

    async def _fan_out_loop(self) -> None:
        while not self.stop.is_set():
            try:
                while await self.fan_out_once() == FAN_OUT_BATCH:
                    pass
            except psycopg.Error as exc:
                log.warning("webhook fan-out failed, will retry: %s", exc)
            await self._wait(self._changes, self.settings.webhook_poll_interval)

    # --- delivery -----------------------------------------------------------------------------------------------
    async def claim(self) -> list[Delivery]:
        """Due deliveries, up to PREFETCH x the concurrency per endpoint (each claim serves many sends)."""
        concurrency = self.settings.webhook_concurrency_per_endpoint * PREFETCH
        busy = {str(k): v for k, v in self._in_flight.items() if v}
        async with self.pool.connection() as conn:
            ids = [
                r[0]
                for r in await (
                    await conn.execute(
                        webhooks.CANDIDATES_SQL,
                        {
                            "concurrency": concurrency,
                            "busy": Jsonb(busy),
                            "limit": 500,
                        },
                    )
                ).fetchall()
            ]
            if not ids:
                return []
            lease = self.settings.webhook_timeout_seconds * PREFETCH + 30  # it may wait PREFETCH rounds for a slot
            rows = await (await conn.execute(webhooks.CLAIM_SQL, {"ids": ids, "lease": lease})).fetchall()
        return [Delivery(r[0], r[1], r[2], r[3], r[4], dict(r[5]), r[6]) for r in rows]

    def _slots(self, endpoint_id: int) -> asyncio.Semaphore:
        if endpoint_id not in self._endpoint_slots:
            self._endpoint_slots[endpoint_id] = asyncio.Semaphore(self.settings.webhook_concurrency_per_endpoint)
        return self._endpoint_slots[endpoint_id]

    async def send(self, delivery: Delivery) -> None:
        """POST one delivery (holding one of its endpoint's slots) and record the outcome."""
        assert self._client is not None
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        status: int | None = None
        error: str | None = None
        async with self._slots(delivery.endpoint_id):
            headers = {
                "content-type": "application/json",
                signing.HEADER: signing.sign(delivery.secret, int(time.time()), body),
                "x-catalog-event": delivery.event,
                "x-catalog-delivery": str(delivery.id),
                "user-agent": "product-catalog-webhooks/1",
            }
            try:
                response = await self._client.post(delivery.url, content=body, headers=headers)
                status = response.status_code
                if not 200 <= status < 300:
                    error = f"HTTP {status}: {response.text[:300]}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        await self._record(delivery, status, error)

    async def _record(self, delivery: Delivery, status: int | None, error: str | None) -> None:
        for attempt in range(5):
            try:
                async with self.pool.connection() as conn:
                    if error is None:
                        await conn.execute(webhooks.DELIVERED_SQL, {"id": delivery.id, "status": status})
                        return
                    row = await (
                        await conn.execute(
                            webhooks.RETRY_SQL,
                            {
                                "id": delivery.id,
                                "status": status,
                                "error": error,
                                "delay": backoff_seconds(self.settings, delivery.attempts),
                                "window": self.settings.webhook_retry_hours * 3600,
                            },
                        )
                    ).fetchone()
                    if row is not None and row[0] == "failed":
                        log.warning(
                            "webhook delivery %s (%s to %s) failed for good after %d attempts: %s",
                            delivery.id,
                            delivery.event,
                            delivery.url,
                            delivery.attempts,
                            error,
                        )
                    return
            except psycopg.Error as exc:  # the lease expires and the delivery is retried if this never succeeds
                log.warning("could not record delivery %s (try %d): %s", delivery.id, attempt + 1, exc)
                await asyncio.sleep(0.5 * 2**attempt)

    def _start_send(self, delivery: Delivery) -> None:
        self._in_flight[delivery.endpoint_id] += 1
        task = asyncio.create_task(self.send(delivery))
        self._sends.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._sends.discard(finished)
            self._in_flight[delivery.endpoint_id] -= 1
            self._work.set()
            if not finished.cancelled() and finished.exception() is not None:
                log.error("webhook send crashed: %r", finished.exception())

        task.add_done_callback(done)

    async def _deliver_loop(self) -> None:
        while not self.stop.is_set():
            try:
                claimed = await self.claim()
            except psycopg.Error as exc:
                log.warning("claiming webhook deliveries failed, will retry: %s", exc)
                claimed = []
            for delivery in claimed:
                self._start_send(delivery)
            if not claimed:
                await self._wait(self._work, await self._idle_seconds())

    async def _idle_seconds(self) -> float:
        """Until the next retry is due, at most the poll interval."""
        poll = self.settings.webhook_poll_interval
        try:
            async with self.pool.connection() as conn:
                row = await (await conn.execute(webhooks.NEXT_DUE_SQL)).fetchone()
        except psycopg.Error:
            return poll
        if row is None or row[0] is None:
            return poll
        return max(0.01, min(poll, float(row[0])))

    # --- wake-ups and housekeeping --------------------------------------------------------------------------------
    async def _wait(self, event: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        event.clear()

    async def _listen_loop(self) -> None:
        """NOTIFY catalog_changes (sent at every commit that changed products or stock) wakes the fan-out."""
        await listen(self.settings.postgres_dsn, CHANNEL, self._changes, self.stop, self.settings.webhook_poll_interval)

    async def housekeeping(self) -> int:
        """Prune the change log past its retention (never what fan-out has not reached) and old deliveries."""
        pruned = 0
        async with self.pool.connection() as conn:
            any_active = await (await conn.execute(webhooks.ANY_ACTIVE_SQL)).fetchone()
            keep_after: int | None = None
            if any_active is not None and any_active[0]:
                progress = await (await conn.execute(webhooks.PROGRESS_SQL)).fetchone()
                keep_after = int(progress[0]) if progress else 0
            params = changes.prune_params(self.settings.changes_retention_hours, keep_after)
            while True:
                row = await (await conn.execute(changes.PRUNE_SQL, params)).fetchone()
                count = int(row[0]) if row else 0
                pruned += count
                if count < changes.PRUNE_CHUNK:
                    break
            await conn.execute(webhooks.PRUNE_DELIVERIES_SQL, {"days": webhooks.DELIVERY_RETENTION_DAYS})
        return pruned

    async def _housekeeping_loop(self) -> None:
        while not self.stop.is_set():
            try:
                pruned = await self.housekeeping()
                if pruned:
                    log.info("pruned %d transactions from the change log", pruned)
            except psycopg.Error as exc:
                log.warning("change log housekeeping failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), HOUSEKEEPING_SECONDS)

    # --- lifecycle ----------------------------------------------------------------------------------------------
    async def run(self) -> None:
        self._pool = AsyncConnectionPool(
            self.settings.postgres_dsn, min_size=1, max_size=8, kwargs={"autocommit": True}, open=False
        )
        await self._pool.open()
        self._client = httpx.AsyncClient(
            timeout=self.settings.webhook_timeout_seconds,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
        )
        loops = [
            asyncio.create_task(loop())
            for loop in (self._listen_loop, self._fan_out_loop, self._deliver_loop, self._housekeeping_loop)
        ]
        log.info("webhook worker running")
        try:
            await self.stop.wait()
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            if self._sends:  # finish what is in flight (each is bounded by the request timeout)
                await asyncio.wait(set(self._sends), timeout=self.settings.webhook_timeout_seconds + 5)
            await self._client.aclose()
            await self._pool.close()
