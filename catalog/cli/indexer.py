"""Indexer commands: `app` (run, status) for `catalog indexer`, plus `reindex` and `verify` for the top level.

The streaming indexer alone, without the console script: `python -m catalog.cli indexer run`.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import psycopg
import typer
from rich.table import Table

from catalog.cli.console import console, counting_bar
from catalog.settings import Settings, get_settings
from indexer import metrics
from indexer.client import make_client
from indexer.mapping import alias_target, ensure_index
from indexer.options import IndexerOptions

if TYPE_CHECKING:
    from indexer.reindex import ReindexResult

app = typer.Typer(help="Stream committed catalog changes into OpenSearch.", no_args_is_help=True)


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, _frame: FrameType | None) -> None:
        console.print(f"{signal.Signals(signum).name}: finishing the current batch, then exiting")
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


@app.command("run")
def run(
    batch_size: Annotated[int | None, typer.Option(help="outbox rows per batch")] = None,
    poll_interval: Annotated[float | None, typer.Option(help="seconds between polls without NOTIFY")] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="consumers in this process (SKIP LOCKED splits work)")
    ] = 2,
    visibility: Annotated[
        str | None, typer.Option(help="refresh (lowest lag) or wait_for (fewer refreshes)")
    ] = None,
    metrics_port: Annotated[
        int, typer.Option(help="serve Prometheus metrics on 127.0.0.1:PORT (0: off)")
    ] = 0,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING")] = "INFO",
) -> None:
    """Consume the outbox until SIGTERM/SIGINT (the batch in flight is finished first)."""
    from indexer.stream import run_workers

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # opensearch-py logs every request at INFO; only its warnings belong in the indexer's log.
    logging.getLogger("opensearch").setLevel(max(logging.WARNING, logging.getLogger().level))
    settings = get_settings()
    options = IndexerOptions.from_settings(
        settings, batch_size=batch_size, poll_interval=poll_interval, visibility=visibility
    )
    index = ensure_index(make_client(settings), settings, options.refresh_interval)
    if metrics_port:
        metrics.serve(metrics_port)
    stop = threading.Event()
    _stop_on_signals(stop)
    logging.getLogger("indexer").info(
        "indexing into %s -> %s with %d workers", settings.index_alias, index, workers
    )
    run_workers(settings, options, stop, workers)


@app.command("status")
def status() -> None:
    """Backlog, oldest unprocessed change, throughput, dead letters and where the alias points."""
    settings = get_settings()
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        stats = metrics.lag_stats(conn)
    try:
        target = alias_target(make_client(settings), settings.index_alias) or "(missing)"
    except Exception as exc:  # status must print even with OpenSearch down
        target = f"(unreachable: {exc.__class__.__name__})"
    table = Table("measure", "value")
    table.add_row("backlog (changes)", str(stats.backlog))
    table.add_row("oldest unprocessed change", f"{stats.oldest_change_age_seconds:.1f} s")
    table.add_row("indexed, last minute", f"{stats.changes_per_second:.1f} changes/s")
    table.add_row("dead letters (unresolved)", str(stats.dead_letters))
    table.add_row("alias", f"{settings.index_alias} -> {target}")
    console.print(table)


def reindex(
    keep_old: Annotated[bool, typer.Option(help="keep the previous index version after the swap")] = False,
    page_size: Annotated[int, typer.Option(help="products per bulk request")] = 1000,
) -> None:
    """Build a new index version from PostgreSQL, then swap the alias to it atomically."""
    from indexer.reindex import reindex as run_reindex

    settings = get_settings()
    with counting_bar("reindex") as progress:
        result = run_reindex(
            settings, IndexerOptions.from_settings(settings), keep_old=keep_old, page_size=page_size, progress=progress
        )
    console.print(describe_reindex(settings, result))
    if result.failed:
        raise typer.Exit(1)


def describe_reindex(settings: Settings, result: ReindexResult) -> str:
    """The line `catalog reindex` (and `catalog run`, when it rebuilds the index) ends with."""
    return (
        f"{settings.index_alias} -> {result.new_index} (was {result.old_index}): "
        f"{result.documents} products, {result.replayed_changes} changes replayed, "
        f"{result.failed} failed, {result.seconds:.1f} s"
    )


def verify(
    repair: Annotated[bool, typer.Option("--repair", help="rewrite every drifted document")] = False,
) -> None:
    """Compare every product's version in PostgreSQL and OpenSearch; exit 1 on unrepaired drift."""
    from indexer.verify import verify as run_verify

    settings = get_settings()
    with console.status("comparing PostgreSQL and OpenSearch ..."):
        report = run_verify(settings, repair=repair)
    table = Table("", "count", "sample ids")
    table.add_row("products in PostgreSQL", str(report.postgres_count), "")
    table.add_row("documents in OpenSearch", str(report.opensearch_count), "")
    for kind in ("missing", "stale", "extra"):
        table.add_row(kind, str(getattr(report, kind)), ", ".join(map(str, report.samples[kind])))
    table.add_row("pending (queued in outbox)", str(report.pending), "")
    if repair:
        table.add_row("repaired", str(report.repaired), "")
    console.print(table)
    if report.drift > report.repaired:
        raise typer.Exit(1)
