"""Replication lag of the PostgreSQL hot standby under writes: commit on the primary to visible on the replica.

    .venv/bin/python bench/replica_lag.py --products 20000 --writers 2 --batch 100 --duration 20

Starts a primary and its streaming replica of its own (stack/postgres_server.py, free ports from 5440, a tmp stack
dir; both deleted at the end, also on Ctrl-C), migrates and fills the primary, then `--writers` threads update
products `--batch` rows per transaction (`--rate` rows/s in all, 0: as fast as they go) for `--duration` seconds.
Meanwhile a probe commits one product update at a time and polls the replica until it sees that version (the lag a
dashboard reader gets), and a sampler reads the lag the replica reports (db/replication.py, what /metrics shows).
Progress is printed every second; `run()` returns the figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import psycopg  # noqa: E402

from bench.stats import nearest_rank  # noqa: E402
from catalog.settings import Settings  # noqa: E402
from db.replication import LAG_SQL, ReplicaLag  # noqa: E402
from stack import postgres_server  # noqa: E402
from stack.processes import port_is_open  # noqa: E402

DATABASE = "catalog_bench_replica"


@dataclass
class Figures:
    rows_written: int = 0
    transactions: int = 0
    visible_lags: list[float] = field(default_factory=list)
    """Seconds from a probe's commit on the primary until the replica returned it."""
    reported_seconds: list[float] = field(default_factory=list)
    reported_bytes: list[float] = field(default_factory=list)
    seconds: float = 0.0


def free_ports(count: int) -> list[int]:
    ports = [port for port in range(5440, 5450) if not port_is_open("127.0.0.1", port)]
    if len(ports) < count:
        raise SystemExit("need 2 free ports in 5440-5449 for the benchmark's primary and replica")
    return ports[:count]


def fill(settings: Settings, products: int) -> None:
    from db.migrate import upgrade

    postgres_server.ensure_database(settings, DATABASE)
    upgrade(settings.database_url)
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO products (sku, name, price, currency, status) "
            "SELECT 'REPL-' || n, 'Replica bench ' || n, n %% 500 + 0.99, 'USD', 'active' "
            "FROM generate_series(1, %s) AS n",
            (products,),
        )


def writer(settings: Settings, products: int, batch: int, rate: float, stop: threading.Event, out: Figures,
           lock: threading.Lock, seed: int) -> None:
    """Update `batch` consecutive products per transaction, throttled to `rate` rows/s for this writer."""
    start_id = (seed * 7919) % products
    interval = batch / rate if rate > 0 else 0.0
    next_at = time.perf_counter()
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        ids = conn.execute("SELECT array_agg(id ORDER BY id) FROM products").fetchone()
        all_ids: list[int] = ids[0] if ids else []
        position = start_id
        while not stop.is_set():
            chunk = [all_ids[(position + i) % len(all_ids)] for i in range(batch)]
            position += batch
            conn.execute("UPDATE products SET price = price + 0.01, description = 'bench' WHERE id = ANY(%s)", (chunk,))
            with lock:
                out.rows_written += batch
                out.transactions += 1
            if interval:
                next_at += interval
                time.sleep(max(0.0, next_at - time.perf_counter()))


def probe(settings: Settings, stop: threading.Event, out: Figures) -> None:
    """Commit one update on the primary, poll the replica until it returns that version; again and again."""
    replica = postgres_server.replica_dsn(settings, DATABASE)
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as primary, psycopg.connect(
        replica, autocommit=True
    ) as standby:
        found = primary.execute("INSERT INTO products (sku, name, price, currency, status) VALUES "
                                "('REPL-PROBE', 'probe', 1, 'USD', 'draft') RETURNING id").fetchone()
        assert found is not None
        probe_id = int(found[0])
        while not stop.is_set():
            row = primary.execute("UPDATE products SET description = clock_timestamp()::text WHERE id = %s "
                                  "RETURNING version", (probe_id,)).fetchone()
            assert row is not None
            committed = time.perf_counter()
            while not stop.is_set():
                seen = standby.execute("SELECT version FROM products WHERE id = %s", (probe_id,)).fetchone()
                if seen and seen[0] >= row[0]:
                    out.visible_lags.append(time.perf_counter() - committed)
                    break
                time.sleep(0.001)
            time.sleep(0.05)


def sampler(settings: Settings, stop: threading.Event, out: Figures) -> None:
    with psycopg.connect(postgres_server.replica_dsn(settings, DATABASE), autocommit=True) as standby:
        while not stop.is_set():
            lag = ReplicaLag.from_row(standby.execute(LAG_SQL).fetchone())
            out.reported_seconds.append(lag.seconds)
            out.reported_bytes.append(lag.bytes)
            time.sleep(0.1)


def run(
    products: int, writers: int, batch: int, rate: float, duration: float, emit: Callable[[str], None] = print
) -> Figures:
    """Start the pair, write for `duration` seconds while measuring, delete the pair; the figures."""
    primary_port, replica_port = free_ports(2)
    with tempfile.TemporaryDirectory(prefix="catalog-replica-bench-") as stack_dir:
        settings = Settings(
            stack_dir=Path(stack_dir),
            postgres_port=primary_port,
            postgres_replica=True,
            postgres_replica_port=replica_port,
            postgres_db=DATABASE,
        )
        try:
            emit(f"primary on {primary_port}, replica on {replica_port}: starting ...")
            postgres_server.start(settings, emit)
            emit(f"migrating and filling {products:,} products ...")
            fill(settings, products)
            postgres_server.start_replica(settings, emit)
            return _measure(settings, products, writers, batch, rate, duration, emit)
        finally:
            emit("stopping and deleting the pair ...")
            postgres_server.delete_cluster(settings)


def _measure(settings: Settings, products: int, writers: int, batch: int, rate: float, duration: float,
             emit: Callable[[str], None]) -> Figures:
    out, lock, stop = Figures(), threading.Lock(), threading.Event()
    per_writer = rate / writers if rate > 0 else 0.0
    threads = [threading.Thread(target=writer, args=(settings, products, batch, per_writer, stop, out, lock, seed),
                                daemon=True) for seed in range(writers)]
    threads += [threading.Thread(target=probe, args=(settings, stop, out), daemon=True),
                threading.Thread(target=sampler, args=(settings, stop, out), daemon=True)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    try:
        while time.perf_counter() - started < duration:
            time.sleep(1)
            elapsed = time.perf_counter() - started
            latest = out.visible_lags[-20:]
            emit(f"  {elapsed:4.0f}s  {out.rows_written / elapsed:8,.0f} rows/s written  "
                 f"visible p50 {nearest_rank(latest, 0.5) * 1000:6.1f} ms  "
                 f"reported {out.reported_seconds[-1] if out.reported_seconds else float('nan'):.3f} s / "
                 f"{(out.reported_bytes[-1] if out.reported_bytes else float('nan')) / 1024:,.0f} KiB")
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    out.seconds = time.perf_counter() - started
    return out


def report(out: Figures) -> str:
    lags = out.visible_lags
    return "\n".join([
        f"written: {out.rows_written:,} rows in {out.transactions:,} transactions, "
        f"{out.rows_written / out.seconds:,.0f} rows/s over {out.seconds:.1f} s",
        f"commit on the primary -> visible on the replica: p50 {nearest_rank(lags, 0.5) * 1000:.1f} ms, "
        f"p99 {nearest_rank(lags, 0.99) * 1000:.1f} ms, max {max(lags, default=float('nan')) * 1000:.1f} ms "
        f"(n={len(lags)})",
        f"lag the replica reports (catalog_postgres_replica_lag_*): seconds p50 "
        f"{statistics.median(out.reported_seconds or [float('nan')]):.3f}, max "
        f"{max(out.reported_seconds, default=float('nan')):.3f}; bytes to replay max "
        f"{max(out.reported_bytes, default=float('nan')) / 1024:,.0f} KiB (n={len(out.reported_seconds)})",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=20_000, help="products in the primary (default 20000)")
    parser.add_argument("--writers", type=int, default=2, help="writer threads (default 2)")
    parser.add_argument("--batch", type=int, default=100, help="rows updated per transaction (default 100)")
    parser.add_argument("--rate", type=float, default=0, help="rows/s in all, 0: as fast as they go (default 0)")
    parser.add_argument("--duration", type=float, default=20, help="seconds of writes (default 20)")
    args = parser.parse_args()
    out = run(args.products, args.writers, args.batch, args.rate, args.duration)
    print(report(out))


if __name__ == "__main__":
    main()
