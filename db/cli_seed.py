"""Typer commands for the demo catalog (`catalog seed`) and quality jobs (`catalog quality snapshot|recompute`).

Mount with `app.command("seed")(seed_command)` and `app.add_typer(quality_app, name="quality")`.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from catalog.settings import get_settings

console = Console()
quality_app = typer.Typer(help="Catalog quality: daily snapshots and score recomputation.", no_args_is_help=True)


def seed_command(
    products: Annotated[int, typer.Option("--products", "-n", min=0, help="how many products")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", "-s", help="random seed: the same seed, the same catalog")] = 42,
) -> None:
    """Fill an empty catalog with a deterministic, realistic demo catalog: categories, rules, stock, prices, and
    product groups (apparel in colors x sizes, phones in storage x colors) holding about 15% of the products."""
    from db.seed import CatalogNotEmptyError

    try:
        seed_with_progress(products, seed)
    except CatalogNotEmptyError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from exc


def seed_with_progress(products: int, seed: int = 42, *, only_if_empty: bool = False) -> bool:
    """Seed with a progress bar per stage; False when `only_if_empty` and the catalog already has data."""
    from db.seed import CatalogNotEmptyError
    from db.seed import seed as run_seed

    settings = get_settings()
    started = time.perf_counter()
    with Progress(TextColumn("{task.description:>14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        try:
            run_seed(settings.database_url, products, seed, progress, settings.default_currency)
        except CatalogNotEmptyError:
            if only_if_empty:
                return False
            raise
    console.print(f"seeded {products} products into {settings.postgres_db} in "
                  f"{time.perf_counter() - started:.1f}s")
    return True


@quality_app.command("snapshot")
def snapshot_command(
    day: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today)")] = None,
) -> None:
    """Record today's completeness per category (idempotent: a second run the same day replaces it)."""
    from db.quality import take_snapshot
    from db.session import sync_engine

    taken_on = date.fromisoformat(day) if day else date.today()
    rows = take_snapshot(sync_engine(), taken_on)
    console.print(f"quality snapshot for {taken_on}: {rows} categories")


@quality_app.command("recompute")
def recompute_command(
    category: Annotated[list[int] | None, typer.Option("--category", "-c",
                                                       help="category id (with its subtree); repeatable")] = None,
    all_products: Annotated[bool, typer.Option("--all", help="every product")] = False,
) -> None:
    """Re-score products after a rule change; only products whose score changes are written."""
    from db.quality import recompute_for_categories
    from db.session import sync_engine

    if not category and not all_products:
        console.print("[bold red]error:[/] give --category ID (repeatable) or --all")
        raise typer.Exit(2)
    targets: list[int | None] = [None] if all_products else list(category or [])
    changed = recompute_for_categories(sync_engine(), targets)
    console.print(f"{changed} products changed")
