"""`catalog media worker|gc`: the thumbnail worker and the bucket's garbage collector."""

from __future__ import annotations

import logging
import signal
from datetime import timedelta
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from catalog.cli.console import console, fail
from catalog.settings import get_settings

app = typer.Typer(
    help="Product media: the thumbnail worker and the object store's garbage collector.", no_args_is_help=True
)


@app.command("worker")
def worker(
    threads: Annotated[int, typer.Option(min=1, max=64, help="images made at the same time")] = 4,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING")] = "INFO",
) -> None:
    """Make the WebP thumbnails (200 and 600 px) of uploaded images until SIGTERM/SIGINT."""
    from media.worker import ThumbnailWorker

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    thumbnails = ThumbnailWorker(get_settings(), threads=threads, say=console.print)

    def handle(signum: int, _: object) -> None:
        console.print(f"{signal.Signals(signum).name}: finishing the thumbnails in hand, then exiting")
        thumbnails.stop()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    thumbnails.run()
    console.print(f"thumbnail worker stopped ({thumbnails.made} thumbnails made)")


@app.command("gc")
def gc(
    apply: Annotated[bool, typer.Option("--apply", help="delete the orphans (default: only list them)")] = False,
    min_age_minutes: Annotated[
        float,
        typer.Option(
            min=0, help="spare objects younger than this (an upload in flight writes its object before its row)"
        ),
    ] = 60.0,
    show: Annotated[int, typer.Option(min=0, help="list at most this many orphan keys")] = 20,
) -> None:
    """Find the objects in the media bucket that no database row points to; `--apply` deletes them."""
    from media.gc import collect
    from media.store import StorageUnavailable

    settings = get_settings()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed} objects"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(f"scanning bucket {settings.s3_bucket}", total=None)
            report = collect(
                settings,
                apply=apply,
                min_age=timedelta(minutes=min_age_minutes),
                progress=lambda scanned: progress.update(task, completed=scanned),
            )
    except StorageUnavailable as exc:
        fail(f"the object store is unavailable: {exc}")
    for item in report.orphans[:show]:
        console.print(f"  orphan {item.key} ({item.size:,} bytes)", soft_wrap=True, highlight=False)  # keys whole
    if len(report.orphans) > show:
        console.print(f"  ... and {len(report.orphans) - show} more")
    verb = "deleted" if apply else "would delete (dry run; pass --apply)"
    console.print(
        f"scanned {report.scanned} objects: {len(report.orphans)} orphans, {report.orphan_bytes:,} bytes; "
        f"{verb}" + (f"; forgot {report.uploads_forgotten} finished uploads" if apply else ""),
        soft_wrap=True,
    )
