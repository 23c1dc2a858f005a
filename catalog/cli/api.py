"""`catalog api`: the HTTP API alone, as supervised workers sharing one socket (or one reloading process)."""

from __future__ import annotations

from typing import Annotated

import typer

from catalog.cli.console import console
from catalog.settings import get_settings


def run_api(
    workers: Annotated[
        int | None, typer.Option(min=1, help="worker processes (default: CATALOG_API_WORKERS, one per core)")
    ] = None,
    reload: Annotated[bool, typer.Option(help="one process that restarts on code changes (development)")] = False,
) -> None:
    """Serve the HTTP API on CATALOG_API_HOST:CATALOG_API_PORT: supervised workers sharing one socket."""
    settings = get_settings()
    if reload:
        import uvicorn

        from catalog.api_worker import APP

        uvicorn.run(
            APP,
            factory=True,
            host=settings.api_host,
            port=settings.api_port,
            reload=True,
            access_log=False,
        )
        return
    from catalog.run import supervise

    if workers is not None:
        settings = settings.model_copy(update={"api_workers": workers})
    raise typer.Exit(supervise(settings, say=console.print, only_api=True))
