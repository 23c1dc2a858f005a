"""`catalog quality snapshot|recompute`: the quality engine's jobs of `db/quality/`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from catalog.cli.console import console, fail

app = typer.Typer(help="Catalog quality: daily snapshots and score recomputation.", no_args_is_help=True)


@app.command("snapshot")
def snapshot_command(
    day: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today)")] = None,
) -> None:
    """Record today's completeness per category (idempotent: a second run the same day replaces it)."""
    from db.quality.snapshots import take_snapshot
    from db.session import sync_engine

    taken_on = date.fromisoformat(day) if day else date.today()
    rows = take_snapshot(sync_engine(), taken_on)
    console.print(f"quality snapshot for {taken_on}: {rows} categories")


@app.command("recompute")
def recompute_command(
    category: Annotated[list[int] | None, typer.Option("--category", "-c",
                                                       help="category id (with its subtree); repeatable")] = None,
    all_products: Annotated[bool, typer.Option("--all", help="every product")] = False,
) -> None:
    """Re-score products after a rule change; only products whose score changes are written."""
    from db.quality.recompute import recompute_for_categories
    from db.session import sync_engine

    if not category and not all_products:
        fail("give --category ID (repeatable) or --all", 2)
    targets: list[int | None] = [None] if all_products else list(category or [])
    changed = recompute_for_categories(sync_engine(), targets)
    console.print(f"{changed} products changed")
