"""Image uploads through the API vs a raw S3 PUT of the same bytes, and how long thumbnails take to be ready.

    .venv/bin/python bench/media.py --images 400 --clients 8

Starts the API (uvicorn, one worker) against a bench database and bucket of their own, then:
  1. upload: `--clients` concurrent clients POST ~1 MB JPEGs (every one distinct) to /products/{id}/images,
     the thumbnail worker not running yet (the API alone);
  2. starts the thumbnail worker (`catalog media worker`) on that backlog: its throughput;
  3. the same upload burst again while the worker makes thumbnails (they share the machine's cores);
  4. raw: the same bytes PUT straight to the object store with boto3 from as many threads;
  5. thumbnail lag: from an image's row to both its thumbnails ready (row timestamps), during burst 3 and for
     uploads one at a time (what a merchandiser waits for).
Prints images/s for both, their ratio, and lag p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "catalog_bench_media"
BENCH_BUCKET = "catalog-bench-media"
os.environ["CATALOG_POSTGRES_DB"] = BENCH_DB
os.environ["CATALOG_S3_BUCKET"] = BENCH_BUCKET
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from PIL import Image  # noqa: E402

from api.auth.security import issue_token  # noqa: E402
from bench.api_process import free_port, start_api  # noqa: E402
from catalog.settings import get_settings  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from media.store import MediaStore  # noqa: E402
from stack import manager  # noqa: E402
from stack.postgres_server import ensure_database  # noqa: E402

PRODUCTS = 50
RUN = uuid.uuid4()


def base_jpeg(target_bytes: int) -> bytes:
    """A photo-like (noisy, so incompressible) 4:3 JPEG of about `target_bytes`."""

    def encode(width: int) -> bytes:
        height = width * 3 // 4
        out = io.BytesIO()
        Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "JPEG", quality=90)
        return out.getvalue()

    probe = encode(400)
    per_pixel = len(probe) / (400 * 300)
    return encode(int((target_bytes / per_pixel / 0.75) ** 0.5))


class Images:
    """`count` distinct JPEGs made on demand from one picture (memory stays one picture, whatever the count)."""

    def __init__(self, base: bytes, start: int, count: int) -> None:
        self.base, self.start, self.count = base, start, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, n: int) -> bytes:
        if not 0 <= n < self.count:
            raise IndexError(n)
        return variant(self.base, self.start + n)

    def __iter__(self) -> Iterator[bytes]:
        return (self[n] for n in range(self.count))

    def total_bytes(self) -> int:
        return sum(len(self[n]) for n in range(self.count))


def variant(jpeg: bytes, n: int) -> bytes:
    """The same picture with a distinct JPEG comment segment: other bytes (another sha256), still a valid JPEG."""
    comment = f"bench image {n:08d} {RUN}".encode()
    return jpeg[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + jpeg[2:]


def prepare() -> list[int]:
    settings = get_settings()
    manager.up(settings, say=lambda _: None)
    ensure_database(settings, BENCH_DB)
    upgrade(settings.database_url)
    store = MediaStore(settings)
    store.delete([item.key for item in store.iter_objects()])
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE products, outbox, audit_log, media_uploads RESTART IDENTITY CASCADE")
        conn.execute(
            "INSERT INTO products (sku, name, price, currency) "
            "SELECT 'MEDIA-' || n, 'Media bench product ' || n, 10, 'USD' FROM generate_series(1, %s) n",
            (PRODUCTS,),
        )
        return [row[0] for row in conn.execute("SELECT id FROM products ORDER BY id")]


def quantile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[int(q * 100) - 1]


async def upload_all(api: str, ids: list[int], images: Images, clients: int) -> tuple[float, list[float]]:
    """POST every image with `clients` concurrent clients; returns (seconds, latencies ms)."""
    token = issue_token(get_settings(), uuid.uuid4(), ["merchandiser"])
    latencies: list[float] = []
    queue = iter(range(len(images)))
    done = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=60, limits=limits
    ) as client:

        async def one_client() -> None:
            nonlocal done
            for n in queue:
                started = time.perf_counter()
                files = {"file": (f"photo-{n}.jpg", images[n], "image/jpeg")}
                response = await client.post(f"/products/{ids[n % len(ids)]}/images", files=files)
                if response.status_code != 201:
                    raise SystemExit(f"upload {n} failed: {response.status_code} {response.text[:300]}")
                latencies.append((time.perf_counter() - started) * 1000)
                done += 1
                if done % 50 == 0:
                    print(f"  uploaded {done}/{len(images)}", flush=True)

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        return time.perf_counter() - started, latencies


def raw_puts(images: Images, clients: int) -> float:
    """The same bytes PUT straight to the store (content-type and cache headers as the API sends)."""
    store = MediaStore(get_settings(), pool=clients)

    def put(n: int) -> None:
        store.put(f"raw/{n}.jpg", images[n], "image/jpeg")

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(put, range(len(images))))
    return time.perf_counter() - started


def wait_thumbnails(timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    last = -1
    with psycopg.connect(get_settings().postgres_dsn, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FROM image_thumbnails"
            ).fetchone()
            assert row is not None
            pending, total = int(row[0]), int(row[1])
            if pending != last:
                print(f"  thumbnails ready {total - pending}/{total}", flush=True)
                last = pending
            if pending == 0:
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"{pending} thumbnails still pending after {timeout_s:.0f} s")
            time.sleep(0.5)


def lags_ms(after_id: int = 0) -> list[float]:
    """Per image (id > after_id): from its row to the later of its two thumbnails turning ready."""
    with psycopg.connect(get_settings().postgres_dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM max(t.updated_at) - i.created_at) * 1000 FROM product_images i "
            "JOIN image_thumbnails t ON t.image_id = i.id WHERE i.id > %s AND t.status = 'ready' GROUP BY i.id",
            (after_id,),
        ).fetchall()
    return [float(row[0]) for row in rows]


def max_image_id() -> int:
    with psycopg.connect(get_settings().postgres_dsn, autocommit=True) as conn:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM product_images").fetchone()
    return int(row[0]) if row else 0


async def single_uploads(api: str, ids: list[int], images: Images, gap_s: float) -> None:
    """One upload at a time, each given time to be made before the next (the merchandiser's view)."""
    token = issue_token(get_settings(), uuid.uuid4(), ["merchandiser"])
    async with httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for n, data in enumerate(images):
            response = await client.post(f"/products/{ids[n % len(ids)]}/images", files={"file": ("one.jpg", data)})
            if response.status_code != 201:
                raise SystemExit(f"single upload failed: {response.status_code} {response.text[:300]}")
            await asyncio.sleep(gap_s)


def start_worker(log: Path, threads: int) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "catalog"), "media", "worker", "--threads", str(threads)],
            env=dict(os.environ),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=400, help="images uploaded in the burst (default 400)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent upload clients (default 8)")
    parser.add_argument("--kilobytes", type=int, default=1000, help="size of each JPEG (default 1000 KB)")
    parser.add_argument("--singles", type=int, default=20, help="one-at-a-time uploads for the idle lag (20)")
    parser.add_argument("--worker-threads", type=int, default=4, help="threads of the thumbnail worker (4)")
    args = parser.parse_args()

    print(f"preparing: bench database {BENCH_DB}, bucket {BENCH_BUCKET}, {PRODUCTS} products ...", flush=True)
    ids = prepare()
    base = base_jpeg(args.kilobytes * 1000)
    alone, burst, singles = (Images(base, n * args.images, args.images) for n in range(3))
    singles.count = args.singles
    print(f"  distinct JPEGs of {len(base) / 1e6:.2f} MB ({Image.open(io.BytesIO(base)).size}) made on demand")
    logs = Path(tempfile.mkdtemp(prefix="bench-media-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    api = start_api(port, logs / "api.log", env=dict(os.environ))
    worker: subprocess.Popen[bytes] | None = None
    try:
        print(f"1. {args.images} uploads, {args.clients} clients, thumbnail worker not running yet ...", flush=True)
        alone_seconds, alone_latencies = asyncio.run(upload_all(url, ids, alone, args.clients))
        print("2. thumbnail worker started on that backlog ...", flush=True)
        started = time.perf_counter()
        worker = start_worker(logs / "worker.log", args.worker_threads)
        wait_thumbnails()
        backlog_seconds = time.perf_counter() - started
        first_burst = max_image_id()
        print(
            f"3. {args.images} more uploads, {args.clients} clients, with the worker making thumbnails ...", flush=True
        )
        seconds, latencies = asyncio.run(upload_all(url, ids, burst, args.clients))
        wait_thumbnails()
        burst_lags = lags_ms(first_burst)
        print(f"4. raw S3 PUT of {args.images} of the same images with {args.clients} threads ...", flush=True)
        raw_seconds = raw_puts(burst, args.clients)
        print(f"5. {args.singles} single uploads, one every 1.5 s ...", flush=True)
        before = max_image_id()
        asyncio.run(single_uploads(url, ids, singles, 1.5))
        wait_thumbnails()
        single_lags = lags_ms(before)
    finally:
        for process in (worker, api):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
        store = MediaStore(get_settings())
        store.delete([item.key for item in store.iter_objects()])

    megabytes = burst.total_bytes() / 1e6
    raw_rate = args.images / raw_seconds
    print(f"\n{'scenario':<48}{'images/s':>10}{'MB/s':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for name, took, lat in (
        ("API uploads, worker idle", alone_seconds, alone_latencies),
        ("API uploads, worker making thumbnails", seconds, latencies),
    ):
        print(
            f"{name:<48}{args.images / took:>10.1f}{megabytes / took:>8.1f}"
            f"{quantile(lat, 0.5):>9.1f}{quantile(lat, 0.99):>9.1f}"
        )
    print(f"{'raw S3 PUT of the same bytes (boto3)':<48}{raw_rate:>10.1f}{megabytes / raw_seconds:>8.1f}")
    print(
        f"API / raw PUT: {args.images / alone_seconds / raw_rate:.2f}x (worker idle), "
        f"{args.images / seconds / raw_rate:.2f}x (worker busy)"
    )
    print(f"thumbnail worker: {args.images / backlog_seconds:.1f} images/s (both sizes) on a backlog")
    print("\nthumbnail lag (row -> both WebPs ready)          p50 ms   p99 ms")
    print(
        f"{'  during the ' + str(args.clients) + '-client burst':<48}{quantile(burst_lags, 0.5):>7.0f}"
        f"{quantile(burst_lags, 0.99):>9.0f}"
    )
    print(f"{'  one upload at a time':<48}{quantile(single_lags, 0.5):>7.0f}{quantile(single_lags, 0.99):>9.0f}")
    print(f"logs: {logs}")


if __name__ == "__main__":
    main()
