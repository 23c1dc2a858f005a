"""`catalog seed`: the deterministic demo catalog of `db/seed.py`, with a progress bar per stage."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from catalog.cli.console import console, fail
from catalog.settings import get_settings


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
        fail(str(exc))


def seed_with_progress(products: int, seed: int = 42, *, only_if_empty: bool = False) -> bool:
    """Seed with a progress bar per stage; False when `only_if_empty` and the catalog already has data."""
    from db.seed import seed as run_seed
    from db.seed import seed_if_empty

    settings = get_settings()
    started = time.perf_counter()
    with Progress(TextColumn("{task.description:>14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        args = (settings.database_url, products, seed, progress, settings.default_currency)
        if only_if_empty:
            if not seed_if_empty(*args):
                return False
        else:
            run_seed(*args)
    console.print(f"seeded {products} products into {settings.postgres_db} in "
                  f"{time.perf_counter() - started:.1f}s")
    return True
