"""Tuning knobs of the indexer: defaults, overridden by matching settings fields and CLI flags."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from catalog.settings import Settings


@dataclass(frozen=True)
class IndexerOptions:
    batch_size: int = 500  # outbox rows claimed per batch
    batch_bytes: int = 5 * 1024 * 1024  # max size of one _bulk request body
    poll_interval: float = 1.0  # seconds between polls when no NOTIFY arrives
    refresh_interval: str = "1s"  # index.refresh_interval of new indices
    retention_hours: float = 24.0  # processed outbox rows older than this are pruned
    prune_every: float = 60.0  # seconds between prunes
    stats_every: float = 5.0  # seconds between lag-metric refreshes
    # How a caught-up batch is made visible before it is marked processed: "refresh" (explicit, lowest
    # lag, one small segment per batch) or "wait_for" (rides the scheduled refresh; cheaper, ~1.5 ticks).
    visibility: str = "refresh"
    bulk_attempts: int = 5  # tries of one _bulk before the batch is rolled back
    backoff_base: float = 0.2  # seconds; doubles per attempt
    backoff_max: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> IndexerOptions:
        """The settings' values, then explicit overrides (CLI flags) where given."""
        from_settings = {
            "batch_size": settings.indexer_batch_size,
            "batch_bytes": settings.indexer_batch_bytes,
            "poll_interval": settings.indexer_poll_interval,
            "refresh_interval": settings.index_refresh_interval,
            "retention_hours": settings.outbox_retention_hours,
            "visibility": settings.indexer_visibility,
        }
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(cls(), **{**from_settings, **given})
