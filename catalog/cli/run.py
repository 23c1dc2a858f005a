"""`catalog run` (everything, supervised, after getting the stack, schema, demo data and index ready) and
`catalog status` (what the running supervisor reports). The processes themselves: `catalog/run.py`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from catalog.cli.console import console, counting_bar, fail
from catalog.settings import Settings, get_settings


def run_all(
    demo_products: Annotated[
        int, typer.Option(help="demo catalog size loaded into an EMPTY database (0: none)")
    ] = 20_000,
) -> None:
    """Stack up, migrate, demo catalog if empty, then API + indexer + dashboard until Ctrl-C."""
    from catalog.run import supervise
    from stack.processes import StackError

    settings = get_settings()
    try:
        prepare(settings, demo_products)
    except StackError as exc:
        fail(str(exc))
    raise typer.Exit(supervise(settings, say=console.print))


def prepare(settings: Settings, demo_products: int) -> None:
    """Everything before the processes start, done once (not once per worker): services, schema, index, demo."""
    from catalog.cli.seed import seed_with_progress
    from db.migrate import upgrade
    from indexer.client import make_client
    from indexer.mapping import ensure_index, mapping_is_current
    from stack import manager

    manager.up(settings, say=console.print)
    console.print("database: applying migrations ...")
    upgrade(settings.database_url)
    client = make_client(settings)
    index = ensure_index(client, settings)
    if demo_products > 0 and not seed_with_progress(demo_products, only_if_empty=True):
        console.print("demo catalog: the database already has products; left as it is.")
    if client.count(index=index)["count"] == 0 and _has_products(settings):
        console.print(f"search index {index} is empty but the database is not: rebuilding it ...")
        _rebuild_index(settings)
    elif not mapping_is_current(client, index):
        console.print(f"search index {index} predates today's search fields: rebuilding it (no downtime) ...")
        _rebuild_index(settings)


def _rebuild_index(settings: Settings) -> None:
    """`catalog reindex` with its defaults: the same library call, bar and summary line (exit 1 on failures)."""
    from catalog.cli.indexer import describe_reindex
    from indexer.options import IndexerOptions
    from indexer.reindex import reindex

    with counting_bar("reindex") as progress:
        result = reindex(settings, IndexerOptions.from_settings(settings), progress=progress)
    console.print(describe_reindex(settings, result))
    if result.failed:
        raise typer.Exit(1)


def _has_products(settings: Settings) -> bool:
    import psycopg

    with psycopg.connect(settings.postgres_dsn) as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM products)").fetchone() == (True,)


def run_status() -> None:
    """The processes `catalog run` supervises: state, pid, restarts, last exit code. Exit 1 if none runs."""
    from catalog.run import state_file
    from catalog.supervisor import read_state

    snapshot = read_state(state_file(get_settings()))
    if snapshot is None:
        fail("no `catalog run` (or `catalog api`) is running for this checkout; start it with `make run`.")
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
