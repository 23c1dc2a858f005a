"""The thumbnail worker: leases pending thumbnails, makes WebPs of the originals, marks them ready.

Woken by `NOTIFY catalog_media` (the migration's triggers send it for every new pending thumbnail), with a poll
every CATALOG_THUMBNAIL_POLL_INTERVAL seconds as a fallback and for retries. Several workers can run at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
from psycopg import Connection

from catalog.settings import Settings
from db import media_jobs
from db.media_jobs import ThumbnailJob
from media import images
from media.store import MediaStore, StorageUnavailable

log = logging.getLogger("catalog.media.worker")
LEASE_SECONDS = 120.0
MAX_RETRY_DELAY = 60.0
BATCH = 32


def _retry_delay(attempts: int) -> float:
    return float(min(MAX_RETRY_DELAY, 2 ** max(attempts - 1, 0)))


class ThumbnailWorker:
    """Make every pending thumbnail; `run()` until `stop()` is called (from a signal handler or a thread)."""

    def __init__(self, settings: Settings, threads: int = 4, say: Callable[[str], None] = log.info) -> None:
        self.settings = settings
        self.store = MediaStore(settings, pool=max(threads * 2, 4))
        self.threads = threads
        self.say = say
        self._stop = threading.Event()
        self.made = 0

    def stop(self) -> None:
        self._stop.set()

    def _connect(self) -> Connection[Any]:
        return psycopg.connect(self.settings.postgres_dsn, autocommit=True)

    def _make(self, conn: Connection[Any], image_id: int, jobs: list[ThumbnailJob]) -> None:
        """All claimed sizes of one image: the original is read once."""
        sizes = [job.size for job in jobs]
        try:
            original = self.store.read(jobs[0].original_key)
            if original is None:
                media_jobs.mark_failed(conn, image_id, sizes, "the original object is missing from the store")
                return
            made = images.thumbnails(original, sizes)
            for job in jobs:
                self.store.put(job.key, made[job.size], "image/webp")
        except StorageUnavailable as exc:
            delay = _retry_delay(min(job.attempts for job in jobs))
            log.warning("thumbnails of image %s: store unavailable, retry in %.0fs (%s)", image_id, delay, exc)
            media_jobs.retry_later(conn, image_id, sizes, str(exc), delay)
            return
        except (OSError, ValueError, SyntaxError) as exc:  # Pillow cannot decode what it once accepted
            media_jobs.mark_failed(conn, image_id, sizes, f"cannot make a thumbnail: {exc}")
            return
        media_jobs.mark_ready(conn, image_id, sizes)
        self.made += len(jobs)

    def _work(self, group: tuple[int, list[ThumbnailJob]]) -> None:
        with self._connect() as conn:
            self._make(conn, *group)

    def drain(self, pool: ThreadPoolExecutor, conn: Connection[Any]) -> int:
        """Make thumbnails until none is due; returns how many were attempted."""
        attempted = 0
        while not self._stop.is_set():
            jobs = media_jobs.claim(conn, BATCH, LEASE_SECONDS)
            if not jobs:
                break
            by_image: dict[int, list[ThumbnailJob]] = defaultdict(list)
            for job in jobs:
                by_image[job.image_id].append(job)
            list(pool.map(self._work, by_image.items()))
            attempted += len(jobs)
        return attempted

    def run(self) -> None:
        interval = self.settings.thumbnail_poll_interval
        self.say(f"thumbnail worker: {self.threads} threads, store {self.settings.s3_endpoint_url}, poll {interval}s")
        with ThreadPoolExecutor(self.threads, thread_name_prefix="thumbnail") as pool:
            while not self._stop.is_set():
                try:
                    self._serve(pool, interval)
                except psycopg.OperationalError as exc:
                    log.warning("thumbnail worker: database unavailable (%s); retrying", exc)
                    self._stop.wait(2.0)

    def _serve(self, pool: ThreadPoolExecutor, interval: float) -> None:
        with self._connect() as conn, self._connect() as listener:
            listener.execute(f"LISTEN {media_jobs.NOTIFY_CHANNEL}")
            while not self._stop.is_set():
                if self.drain(pool, conn):
                    continue
                # Sleep until a NOTIFY (new pending thumbnails) or the poll interval; short slices so stop() is quick.
                deadline = time.monotonic() + interval
                while not self._stop.is_set() and time.monotonic() < deadline:
                    if any(True for _ in listener.notifies(timeout=min(0.5, interval), stop_after=1)):
                        break
