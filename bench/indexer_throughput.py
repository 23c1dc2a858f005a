"""Indexer throughput: drain an N-change outbox backlog vs a raw `_bulk` of the same documents; full reindex.

    .venv/bin/python bench/indexer_throughput.py --products 100000

Prints docs/s of a real `indexer run` process draining the backlog (claim, build from PostgreSQL, _bulk with
external versions, refresh, mark processed) next to docs/s of posting the very same documents from an NDJSON
file straight to `_bulk` (the engine's ceiling), their ratio, the full reindex time, and the indexer process's
peak RSS (VmHWM). `run()` does the same on any database whose outbox holds the backlog (bench/run_all.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from indexer_common import prepare, seed, use_bench_environment  # noqa: E402


def vm_hwm_mib(pid: int) -> float:
    """Peak resident memory of a running process in MiB (/proc/<pid>/status VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_indexer(settings: Any, workers: int, batch_size: int, timeout: float = 60) -> subprocess.Popen[bytes]:
    """`indexer run` as its own process; returns once each of its consumers is LISTENing."""
    import psycopg

    process = subprocess.Popen(
        [sys.executable, "-m", "catalog.cli", "indexer", "run", "--log-level", "WARNING", "--workers", str(workers),
         "--batch-size", str(batch_size)],
        cwd=ROOT, env=os.environ.copy())
    deadline = time.monotonic() + timeout
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %%'"
            ).fetchone()
            if row and int(row[0]) >= workers:
                return process
            if process.poll() is not None:
                raise RuntimeError(f"indexer exited with {process.returncode}")
            time.sleep(0.1)
    process.terminate()
    raise TimeoutError("the indexer did not start listening")


def reset_index(settings: Any) -> str:
    """Delete every version of the alias's index and create an empty `<alias>_v1`."""
    from indexer.client import make_client
    from indexer.mapping import ensure_index

    client = make_client(settings, timeout=120)
    try:
        client.indices.delete(index=f"{settings.index_alias}_v*", ignore_unavailable=True)
        return ensure_index(client, settings)
    finally:
        client.close()


def drain_with_indexer(settings: Any, workers: int, batch_size: int) -> tuple[int, float, float]:
    """Mark the whole outbox unprocessed under a running, idle indexer and time it to empty.

    Returns (changes, seconds from the reset's commit to the last processed_at, indexer peak RSS MiB).
    """
    import psycopg

    from indexer.stream import CHANNEL

    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute("UPDATE outbox SET processed_at = coalesce(processed_at, now())")
        indexer = start_indexer(settings, workers, batch_size)
        try:
            with conn.transaction():
                cursor = conn.execute("UPDATE outbox SET processed_at = NULL")
                changes = cursor.rowcount
                conn.execute(f"NOTIFY {CHANNEL}")
            reset_at = conn.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
            while conn.execute("SELECT EXISTS (SELECT FROM outbox WHERE processed_at IS NULL)").fetchone()[0]:  # type: ignore[index]
                if indexer.poll() is not None:
                    raise RuntimeError(f"indexer exited with {indexer.returncode}")
                time.sleep(0.1)
            last = conn.execute("SELECT max(processed_at) FROM outbox").fetchone()[0]  # type: ignore[index]
            peak = vm_hwm_mib(indexer.pid)
        finally:
            indexer.terminate()
            indexer.wait(30)
    return changes, (last - reset_at).total_seconds(), peak


def raw_bulk(settings: Any, batch_size: int) -> tuple[int, float]:
    """The same documents, from an NDJSON file, straight into `_bulk` of a scratch index; (docs, seconds)."""
    import psycopg

    from indexer.bulk import Action, encode
    from indexer.client import make_client
    from indexer.documents import iter_document_pages
    from indexer.mapping import index_name

    client = make_client(settings, timeout=120)
    raw_index = index_name(settings.index_alias, 9999)
    client.indices.delete(index=raw_index, ignore_unavailable=True)
    client.indices.create(index=raw_index)
    with tempfile.NamedTemporaryFile("wb", suffix=".ndjson", delete=False) as out:
        with psycopg.connect(settings.postgres_dsn) as conn:
            for page in iter_document_pages(conn, batch_size):
                for doc in page:
                    out.write(encode(raw_index, Action(doc["id"], int(doc["version"]), doc)))
        path = Path(out.name)
    lines = path.read_bytes().splitlines(keepends=True)
    path.unlink()
    bodies = [b"".join(lines[i : i + 2 * batch_size]) for i in range(0, len(lines), 2 * batch_size)]
    try:
        started = time.perf_counter()
        for body in bodies:
            response = client.bulk(body=body)
            assert not response["errors"], json.dumps(response)[:500]
        client.indices.refresh(index=raw_index)
        seconds = time.perf_counter() - started
    finally:
        client.indices.delete(index=raw_index)
        client.close()
    return len(lines) // 2, seconds


def run(settings: Any, workers: int = 2, batch_size: int = 500, with_reindex: bool = True) -> dict[str, float]:
    """Drain the database's whole outbox into a fresh index with `indexer run`, raw `_bulk` the same documents,
    then (optionally) a full `reindex`. Leaves the alias on a complete index."""
    from indexer.options import IndexerOptions
    from indexer.reindex import reindex

    reset_index(settings)
    changes, drain_s, peak = drain_with_indexer(settings, workers, batch_size)
    docs, raw_s = raw_bulk(settings, batch_size)
    out = {"indexer drain: docs/s": changes / drain_s, "indexer drain: s": drain_s, "changes": float(changes),
           "raw _bulk: docs/s": docs / raw_s, "raw _bulk: s": raw_s, "indexer peak RSS MiB": peak}
    if with_reindex:
        result = reindex(settings, IndexerOptions(batch_size=batch_size))
        out |= {"full reindex: docs/s": result.documents / result.seconds, "full reindex: s": result.seconds}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=100_000, help="backlog size (products created)")
    parser.add_argument("--batch-size", type=int, default=500, help="outbox rows per batch / docs per raw bulk")
    parser.add_argument("--database", default="catalog_bench_indexer")
    parser.add_argument("--alias", default="bench_products")
    parser.add_argument("--workers", type=int, default=2, help="indexer consumers (as `indexer run --workers`)")
    parser.add_argument("--skip-reindex", action="store_true")
    args = parser.parse_args()
    use_bench_environment(args.database, args.alias)

    from catalog.settings import get_settings

    settings = get_settings()
    prepare(settings)
    print(f"seeding {args.products} products (backlog of {args.products} outbox changes) ...")
    seed(settings, args.products)
    out = run(settings, args.workers, args.batch_size, not args.skip_reindex)
    changes = int(out["changes"])
    print(f"indexer drain : {changes} changes in {out['indexer drain: s']:.1f} s = "
          f"{out['indexer drain: docs/s']:,.0f} docs/s (batch {args.batch_size}, {args.workers} workers)")
    print(f"raw _bulk     : {changes} docs in {out['raw _bulk: s']:.1f} s = {out['raw _bulk: docs/s']:,.0f} docs/s "
          "(same documents)")
    print(f"ratio         : indexer / raw = {out['indexer drain: docs/s'] / out['raw _bulk: docs/s']:.2f}")
    print(f"peak RSS      : indexer process {out['indexer peak RSS MiB']:.0f} MiB (VmHWM)")
    if "full reindex: s" in out:
        print(f"full reindex  : {changes} products in {out['full reindex: s']:.1f} s = "
              f"{out['full reindex: docs/s']:,.0f} docs/s")
    prepare(settings)  # clean up the bench alias's indices


if __name__ == "__main__":
    main()
