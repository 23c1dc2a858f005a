"""`_bulk` writes with external versioning: byte-bounded requests, per-item outcome, retries with backoff.

An item is settled when OpenSearch stored it, or answered 409 (a newer version is already there),
or 404 for a delete (nothing to delete). 429/5xx items and connection failures are transient and
retried; any other item error (mapper_parsing_exception, ...) is permanent and reported to the caller.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import ConnectionTimeout, TransportError

from indexer.documents import Document

log = logging.getLogger(__name__)

Refresh = Literal["false", "wait_for"]


@dataclass(frozen=True)
class Action:
    """Index `doc` at `version`, or (doc None) delete the product's document at `version`."""

    product_id: int
    version: int
    doc: Document | None = None

    @property
    def is_delete(self) -> bool:
        return self.doc is None


@dataclass
class BulkOutcome:
    written: int = 0  # stored (created/updated/deleted)
    superseded: int = 0  # 409: a newer version already there, or delete of a missing document
    conflicts: int = 0  # how many of `superseded` were version conflicts
    failed: dict[int, str] = field(default_factory=dict)  # product id -> permanent error


class TransientBulkError(RuntimeError):
    """OpenSearch could not take the request after every retry (down, overloaded, timing out)."""


def encode(index: str, action: Action) -> bytes:
    """The NDJSON lines of one action."""
    op = "delete" if action.is_delete else "index"
    meta = {
        op: {
            "_index": index,
            "_id": str(action.product_id),
            "version": action.version,
            "version_type": "external",
        }
    }
    lines = json.dumps(meta, separators=(",", ":"))
    if action.doc is not None:
        lines += "\n" + json.dumps(action.doc, separators=(",", ":"), ensure_ascii=False)
    return (lines + "\n").encode()


def chunk_by_bytes(
    encoded: Sequence[tuple[Action, bytes]], max_bytes: int
) -> Iterator[list[tuple[Action, bytes]]]:
    """Split into request bodies no larger than max_bytes (a single oversized item goes alone)."""
    chunk: list[tuple[Action, bytes]] = []
    size = 0
    for item in encoded:
        if chunk and size + len(item[1]) > max_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += len(item[1])
    if chunk:
        yield chunk


def _is_transient_status(status: int) -> bool:
    return status == 429 or status >= 500


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return f"{error.get('type')}: {error.get('reason')}"
    return str(error)


@dataclass
class BulkWriter:
    """Writes actions to one index (or alias), retrying transient failures with exponential backoff."""

    client: OpenSearch
    max_bytes: int = 5 * 1024 * 1024
    attempts: int = 5
    backoff_base: float = 0.2
    backoff_max: float = 30.0
    should_stop: Callable[[], bool] = lambda: False

    def write(self, index: str, actions: Sequence[Action], refresh: Refresh = "false") -> BulkOutcome:
        outcome = BulkOutcome()
        encoded = [(action, encode(index, action)) for action in actions]
        for chunk in chunk_by_bytes(encoded, self.max_bytes):
            self._write_chunk(chunk, refresh, outcome)
        return outcome

    def _write_chunk(self, chunk: list[tuple[Action, bytes]], refresh: Refresh, outcome: BulkOutcome) -> None:
        pending = chunk
        for attempt in range(self.attempts):
            if attempt:
                self._sleep(attempt)
            try:
                response = self.client.bulk(body=b"".join(body for _, body in pending), refresh=refresh)
            except (OSConnectionError, ConnectionTimeout) as exc:
                log.warning("bulk request failed (attempt %d/%d): %s", attempt + 1, self.attempts, exc)
                continue
            except TransportError as exc:
                if isinstance(exc.status_code, int) and _is_transient_status(exc.status_code):
                    log.warning(
                        "bulk rejected with %s (attempt %d/%d)", exc.status_code, attempt + 1, self.attempts
                    )
                    continue
                raise
            pending = self._settle(pending, response["items"], outcome)
            if not pending:
                return
        raise TransientBulkError(f"{len(pending)} bulk items still failing after {self.attempts} attempts")

    def _settle(
        self, sent: list[tuple[Action, bytes]], items: list[dict[str, Any]], outcome: BulkOutcome
    ) -> list[tuple[Action, bytes]]:
        """Record each item's outcome; return the items to retry."""
        retry: list[tuple[Action, bytes]] = []
        for (action, body), item in zip(sent, items, strict=True):
            result = next(iter(item.values()))
            status = int(result.get("status", 500))
            if action.is_delete and (status == 404 or result.get("result") == "not_found"):
                outcome.superseded += 1
            elif status < 300:
                outcome.written += 1
            elif status == 409:
                outcome.superseded += 1
                outcome.conflicts += 1
            elif _is_transient_status(status):
                retry.append((action, body))
            else:
                outcome.failed[action.product_id] = _error_text(result.get("error"))
        return retry

    def _sleep(self, attempt: int) -> None:
        delay = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not self.should_stop():
            time.sleep(min(0.1, deadline - time.monotonic()))
