"""`catalog webhooks worker` and `catalog import FILE`: the integration commands (workers and runner of `api/`)."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer

from catalog.settings import get_settings

webhooks_app = typer.Typer(help="Signed webhooks: the delivery worker.", no_args_is_help=True)


@webhooks_app.command("worker")
def webhooks_worker() -> None:
    """Deliver webhook events from the change log, and run queued imports, until Ctrl-C/SIGTERM."""
    from api.imports.worker import ImportWorker
    from api.webhooks.worker import WebhookWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await asyncio.gather(WebhookWorker(get_settings(), stop).run(), ImportWorker(get_settings(), stop).run())

    asyncio.run(main())


def import_command(
    file: Annotated[typer.FileBinaryRead, typer.Argument(help="a .csv or .xlsx file with a header row")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate every row, write nothing")] = False,
    atomic: Annotated[bool, typer.Option("--atomic", help="import nothing if any row is rejected")] = False,
) -> None:
    """Import products from a spreadsheet (columns: product fields, attr.<name>, stock.<WAREHOUSE>), with a
    progress bar and the per-row report at the end. Exit 1 when rows were rejected."""
    from api.imports.worker import run_file_with_progress

    raise typer.Exit(asyncio.run(run_file_with_progress(get_settings(), file.name, file.read(), dry_run, atomic)))
