"""`catalog db upgrade`: the Alembic migrations of `db/migrations/`."""

from __future__ import annotations

from typing import Annotated

import typer

from catalog.cli.console import console
from catalog.settings import get_settings

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply the Alembic migrations to the configured database."""
    from db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url, revision)
    console.print(f"database {settings.postgres_db} at {revision}")
