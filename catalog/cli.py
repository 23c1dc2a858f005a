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
    help="The dev stack: PostgreSQL, Redis, OpenSearch and the object store under .stack/.", no_args_is_help=True
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
    from media.cli import app as media_app

    app.add_typer(media_app, name="media")
    from catalog.integrations_cli import import_command, webhooks_app

    app.add_typer(webhooks_app, name="webhooks")
    app.command("import")(import_command)


_mount_subcommands()

console = Console()


def fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


@stack_app.command("up")
def stack_up(
    browser: Annotated[
        bool, typer.Option("--browser", help="also install Debian's chromium, for the browser tests (make test)")
    ] = False,
) -> None:
    """Start PostgreSQL, Redis and OpenSearch (installing what is missing); idempotent."""
    from stack import manager
    from stack.processes import StackError

    try:
        if browser:
            manager.install_browser(say=console.print)
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


@stack_app.command("clean")
def stack_clean() -> None:
    """Stop the services and delete all their data (every database and index of this checkout)."""
    from stack import manager

    manager.clean(get_settings(), say=console.print)


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
    service: Annotated[str | None, typer.Argument(help="a service (default: all)")] = None,
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
    table.add_column("data", overflow="fold")
    for s in statuses:
        table.add_row(
            s.name,
            s.address,
            str(s.pid or ("external" if not s.managed else "-")),
            "[green]yes[/]" if s.healthy else "[red]no[/]",
            str(s.data or "(yours)"),
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
    workers: Annotated[
        int | None, typer.Option(min=1, help="worker processes (default: CATALOG_API_WORKERS, one per core)")
    ] = None,
    reload: Annotated[bool, typer.Option(help="one process that restarts on code changes (development)")] = False,
) -> None:
    """Serve the HTTP API on CATALOG_API_HOST:CATALOG_API_PORT: supervised workers sharing one socket."""
    settings = get_settings()
    if reload:
        import uvicorn

        uvicorn.run(
            "api.app:create_app",
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


@app.command("status")
def run_status() -> None:
    """The processes `catalog run` supervises: state, pid, restarts, last exit code. Exit 1 if none runs."""
    from datetime import datetime

    from catalog.run import state_file
    from catalog.supervisor import read_state

    snapshot = read_state(state_file(get_settings()))
    if snapshot is None:
        fail("no `catalog run` (or `catalog api`) is running for this checkout; start it with `make run`.")
        return
    table = Table("process", "state", "pid", "restarts", "last exit", "up since")
    programs = snapshot["programs"]
    assert isinstance(programs, list)
    for p in programs:
        since = datetime.fromtimestamp(p["since"]).strftime("%H:%M:%S") if p["since"] else "-"
        color = {"running": "green", "backoff": "yellow", "fatal": "red"}.get(p["state"], "white")
        last_exit = "-" if p["last_exit_code"] is None else str(p["last_exit_code"])
        table.add_row(
            p["name"], f"[{color}]{p['state']}[/]", str(p["pid"] or "-"), str(p["restarts"]), last_exit, since
        )
    console.print(f"supervisor pid {snapshot['supervisor_pid']}")
    console.print(table)


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
