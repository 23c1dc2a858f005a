"""`catalog stack up|down|clean|status|logs`: the native dev stack of `stack/`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from catalog.cli.console import console, fail
from catalog.settings import get_settings

if TYPE_CHECKING:
    from stack.manager import ServiceStatus

app = typer.Typer(
    help="The dev stack: PostgreSQL, Redis, OpenSearch and the object store under .stack/.", no_args_is_help=True
)


@app.command("up")
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
    print_status(statuses)


@app.command("down")
def stack_down() -> None:
    """Stop the project-local services (data stays under .stack/)."""
    from stack import manager

    manager.down(get_settings())


@app.command("clean")
def stack_clean() -> None:
    """Stop the services and delete all their data (every database and index of this checkout)."""
    from stack import manager

    manager.clean(get_settings(), say=console.print)


@app.command("status")
def stack_status() -> None:
    """Show each service, where it listens and whether it is healthy. Exit 1 if any is not."""
    from stack import manager

    statuses = manager.status(get_settings())
    print_status(statuses)
    if not all(s.healthy for s in statuses):
        raise typer.Exit(1)


@app.command("logs")
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


def print_status(statuses: list[ServiceStatus]) -> None:
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
