"""The `catalog` command: one entry point for every operation the project has."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from catalog.settings import get_settings

app = typer.Typer(
    help="Product catalog: dev stack, database, API, indexer, dashboard and tools.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stack_app = typer.Typer(
    help="The native dev stack: PostgreSQL, Redis and OpenSearch under .stack/.", no_args_is_help=True
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")
app.add_typer(db_app, name="db")


def _mount_subcommands() -> None:
    """Commands that live with the part they operate on."""
    from catalog.users_cli import app as users_app
    from db.cli_seed import quality_app, seed_command
    from indexer import cli as indexer_cli

    app.add_typer(users_app, name="users")
    app.add_typer(indexer_cli.app, name="indexer")
    app.command("reindex")(indexer_cli.reindex)
    app.command("verify")(indexer_cli.verify)
    app.command("seed")(seed_command)
    app.add_typer(quality_app, name="quality")


_mount_subcommands()

console = Console()


def fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


@stack_app.command("up")
def stack_up() -> None:
    """Start PostgreSQL, Redis and OpenSearch (installing what is missing); idempotent."""
    from stack import manager
    from stack.processes import StackError

    try:
        statuses = manager.up(get_settings())
    except StackError as exc:
        fail(str(exc))
        return
    _print_status(statuses)


@stack_app.command("down")
def stack_down() -> None:
    """Stop the project-local services (data stays under .stack/)."""
    from stack import manager

    manager.down(get_settings())


@stack_app.command("status")
def stack_status() -> None:
    """Show each service, where it listens and whether it is healthy. Exit 1 if any is not."""
    from stack import manager

    statuses = manager.status(get_settings())
    _print_status(statuses)
    if not all(s.healthy for s in statuses):
        raise typer.Exit(1)


@stack_app.command("logs")
def stack_logs(
    service: Annotated[str | None, typer.Argument(help="postgres, redis or opensearch (default: all)")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="lines per log")] = 40,
) -> None:
    """Print the tail of the services' logs."""
    from stack import manager
    from stack.processes import StackError

    try:
        print(manager.logs(get_settings(), service, lines))
    except StackError as exc:
        fail(str(exc))


def _print_status(statuses: list[manager.ServiceStatus]) -> None:  # type: ignore[name-defined]  # noqa: F821
    table = Table("service", "address", "pid", "healthy")
    for s in statuses:
        table.add_row(
            s.name,
            s.address,
            str(s.pid or ("external" if not s.managed else "-")),
            "[green]yes[/]" if s.healthy else "[red]no[/]",
        )
    console.print(table)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply the Alembic migrations to the configured database."""
    from db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url, revision)
    console.print(f"database {settings.postgres_db} at {revision}")


@app.command("api")
def run_api(
    reload: Annotated[bool, typer.Option(help="restart on code changes (development)")] = False,
) -> None:
    """Serve the HTTP API with uvicorn on CATALOG_API_HOST:CATALOG_API_PORT."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        workers=None if reload else settings.api_workers,
        reload=reload,
        access_log=False,
    )


@app.command("run")
def run_all(
    demo_products: Annotated[
        int, typer.Option(help="demo catalog size loaded into an EMPTY database (0: none)")
    ] = 20_000,
) -> None:
    """Stack up, migrate, demo catalog if empty, then API + indexer + dashboard until Ctrl-C."""
    from catalog.run import prepare, supervise
    from stack.processes import StackError

    settings = get_settings()
    try:
        prepare(settings, demo_products, say=console.print)
    except StackError as exc:
        fail(str(exc))
    raise typer.Exit(supervise(settings, say=console.print))


def main() -> None:
    app(sys.argv[1:])
