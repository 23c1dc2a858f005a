"""Time `catalog seed` into a scratch database (created, migrated, dropped), plus the quality jobs on the result.

Usage: .venv/bin/python -m bench.seed [--products 100000] [--seed 42] [--keep]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date
from typing import TypeVar

from sqlalchemy import create_engine, pool

from catalog.settings import get_settings
from db import quality
from db.migrate import upgrade
from db.seed import seed
from stack.postgres_server import drop_database, recreate_database

SCRATCH_DB = "catalog_seedbench"
T = TypeVar("T")


def timed(label: str, action: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = action()
    print(f"{label:<28} {time.perf_counter() - started:7.2f}s  {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    settings = get_settings()
    recreate_database(settings, SCRATCH_DB)
    url = settings.database_url_for(SCRATCH_DB)
    try:
        upgrade(url)
        timed(f"seed {args.products} products", lambda: seed(url, args.products, args.seed))
        engine = create_engine(url, poolclass=pool.NullPool)
        timed("recompute all (no change)", lambda: quality.recompute_all(engine))
        timed("snapshot", lambda: quality.take_snapshot(engine, date.today()))
        timed("duplicates (all reasons)", lambda: quality.find_duplicates(engine, limit=50).total)
    finally:
        if not args.keep:
            drop_database(settings, SCRATCH_DB)


if __name__ == "__main__":
    main()
