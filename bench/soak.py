"""A bounded soak: mixed reads and writes against a running API, with the API process's memory sampled.

    .venv/bin/python bench/soak.py --url http://127.0.0.1:8000 --minutes 10        # an API you run
    .venv/bin/python bench/soak.py --scratch --minutes 3                           # starts its own

`--scratch` creates a throwaway database (`catalog_soak_<id>`), migrates it, serves it with uvicorn on a
free port, soaks it, then stops the API and drops the database. The load comes from this process over
loopback: `--concurrency` async clients, each picking a read or a write per request (`--write-share`).
The token is minted from the catalog settings (`CATALOG_JWT_SECRET` must match the API's). RSS of the API
process (`--pid`, or found by its port) is sampled every `--sample-seconds`, with a progress line each time.
At the end it prints errors, throughput, latency p50/p99 overall and per kind, and RSS start/max/end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from api.auth.security import issue_token  # noqa: E402
from bench.api_process import free_port  # noqa: E402
from catalog.api_worker import uvicorn_command  # noqa: E402
from catalog.settings import Settings, get_settings  # noqa: E402


@dataclass
class Stats:
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    rss_kb: list[tuple[float, int]] = field(default_factory=list)

    def record(self, kind: str, started: float, status: int | None, problem: str | None = None) -> None:
        self.latencies_ms.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        self.statuses[f"{kind} {status}"] += 1
        if problem:
            self.errors.append(f"{kind}: {problem}")


# --- the API process and its memory ----------------------------------------------------------------------------


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def pid_listening_on(port: int) -> int | None:
    """The pid owning the listening socket on `port` (reads /proc; no psutil needed)."""
    inodes = _listening_inodes(port)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            return int(proc.name)
    return None


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[3] == "0A":  # 0A: LISTEN
                inodes.add(parts[9])
    return inodes


async def sample_rss(pid: int, every: float, stats: Stats, stop: asyncio.Event) -> None:
    """Sample the API's RSS every `every` seconds, printing the soak's progress with each sample."""
    started = time.monotonic()
    while True:
        stats.rss_kb.append((time.monotonic() - started, rss_kb(pid)))
        print(f"  {stats.rss_kb[-1][0]:5.0f} s: {sum(stats.statuses.values()):,} requests, {len(stats.errors)} errors, "
              f"API RSS {stats.rss_kb[-1][1] / 1024:.1f} MiB", flush=True)
        try:
            await asyncio.wait_for(stop.wait(), every)
            stats.rss_kb.append((time.monotonic() - started, rss_kb(pid)))
            return
        except TimeoutError:
            continue


# --- the load --------------------------------------------------------------------------------------------------


def product_body() -> dict[str, object]:
    token = uuid.uuid4().hex[:12]
    return {"sku": f"SOAK-{token}", "name": f"Soak kettle {token}", "price": round(random.uniform(5, 500), 2),
            "brand": random.choice(["Acme", "Globex", "Initech"]), "status": "active",
            "description": "Written by the soak benchmark to keep the API busy for a while.",
            "attributes": {"color": random.choice(["red", "blue", "black"]), "size": random.randint(1, 12)}}


class Load:
    """One request at a time per client; the kind is drawn per request."""

    def __init__(self, client: httpx.AsyncClient, stats: Stats, write_share: float, has_search: bool) -> None:
        self.client, self.stats, self.write_share, self.has_search = client, stats, write_share, has_search
        self.ids: list[int] = []

    async def one(self) -> None:
        kind = "write" if random.random() < self.write_share or not self.ids else "read"
        started = time.perf_counter()
        try:
            response = await (self._write() if kind == "write" else self._read())
        except httpx.HTTPError as exc:
            self.stats.record(kind, started, None, repr(exc))
            return
        problem = None if response.status_code < 400 else f"{response.status_code} {response.text[:200]}"
        self.stats.record(kind, started, response.status_code, problem)
        if kind == "write" and response.status_code == 201:
            self.ids.append(int(response.json()["id"]))

    async def _write(self) -> httpx.Response:
        if self.ids and random.random() < 0.4:
            return await self.client.patch(f"/products/{random.choice(self.ids)}",
                                           json={"price": round(random.uniform(5, 500), 2)})
        return await self.client.post("/products", json=product_body())

    async def _read(self) -> httpx.Response:
        choice = random.random()
        if choice < 0.5:
            return await self.client.get(f"/products/{random.choice(self.ids)}")
        if choice < 0.75:
            return await self.client.get("/products", params={"limit": 20, "skip": random.randint(0, 200)})
        if choice < 0.9 and self.has_search:
            return await self.client.get("/search", params={"q": random.choice(["kettle", "acme", "red"])})
        return await self.client.get("/categories")


async def soak(url: str, token: str, minutes: float, concurrency: int, write_share: float, pid: int,
               sample_seconds: float) -> tuple[Stats, float]:
    stats = Stats()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30,
                                 limits=limits) as client:
        has_search = "/search" in (await client.get("/schema/openapi.json")).json()["paths"]
        load = Load(client, stats, write_share, has_search)
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(pid, sample_seconds, stats, stop))
        deadline = time.monotonic() + minutes * 60
        started = time.perf_counter()

        async def client_loop() -> None:
            while time.monotonic() < deadline:
                await load.one()

        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        stop.set()
        await sampler
    return stats, elapsed


# --- a scratch API ---------------------------------------------------------------------------------------------




@contextmanager
def scratch_api(settings: Settings) -> Iterator[tuple[str, int]]:
    """A migrated throwaway database served by uvicorn on a free port; both gone afterwards."""

    from db.migrate import upgrade
    from stack.postgres_server import drop_database, ensure_database

    scratch = settings.model_copy(update={"postgres_db": f"catalog_soak_{uuid.uuid4().hex[:8]}"})
    ensure_database(scratch, scratch.postgres_db)
    upgrade(scratch.database_url)
    port = free_port()
    env = {**os.environ, "CATALOG_POSTGRES_DB": scratch.postgres_db, "CATALOG_RATE_LIMIT_PER_MINUTE": "0"}
    log = Path(tempfile.gettempdir()) / f"{scratch.postgres_db}-api.log"
    print(f"scratch API on port {port}, database {scratch.postgres_db}, log {log}", flush=True)
    with log.open("wb") as out:
        api = subprocess.Popen(uvicorn_command("127.0.0.1", port, "--log-level", "warning"), cwd=ROOT, env=env,
                               stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", api)
        yield f"http://127.0.0.1:{port}", api.pid
    finally:
        api.terminate()
        api.wait(30)
        drop_database(settings, scratch.postgres_db)


def _wait_healthy(url: str, api: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and api.poll() is None:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"the API at {url} did not become healthy")


# --- report ----------------------------------------------------------------------------------------------------


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else (values[0] if values else 0.0)


def report(stats: Stats, elapsed: float) -> None:
    every = [ms for values in stats.latencies_ms.values() for ms in values]
    print(f"\nduration {elapsed:.0f} s, {len(every)} requests, {len(every) / elapsed:.1f} req/s, "
          f"errors {len(stats.errors)}")
    print(f"{'kind':<8}{'requests':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for kind, values in [*sorted(stats.latencies_ms.items()), ("all", every)]:
        print(f"{kind:<8}{len(values):>10}{percentile(values, 50):>10.1f}{percentile(values, 99):>10.1f}")
    print("statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(stats.statuses.items())))
    rss = [kb for _, kb in stats.rss_kb]
    print(f"API RSS MiB: start {rss[0] / 1024:.1f}, max {max(rss) / 1024:.1f}, end {rss[-1] / 1024:.1f} "
          f"({len(rss)} samples)")
    print("RSS samples (s: MiB): " + ", ".join(f"{t:.0f}: {kb / 1024:.1f}" for t, kb in stats.rss_kb))
    for problem in stats.errors[:10]:
        print(f"  error: {problem}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="base URL of a running API, e.g. http://127.0.0.1:8000")
    target.add_argument("--scratch", action="store_true", help="start an API on a throwaway database")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to soak (default 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--write-share", type=float, default=0.3, help="share of writes, 0..1 (default 0.3)")
    parser.add_argument("--pid", type=int, help="API process to sample (default: the one listening on the port)")
    parser.add_argument("--sample-seconds", type=float, default=10.0, help="RSS sampling period (default 10)")
    args = parser.parse_args()
    settings = get_settings()
    token = issue_token(settings, uuid.uuid4(), ["admin"])
    with target_api(args, settings) as (url, pid):
        print(f"soaking {url} (pid {pid}) for {args.minutes} min with {args.concurrency} clients ...", flush=True)
        stats, elapsed = asyncio.run(soak(url, token, args.minutes, args.concurrency, args.write_share, pid,
                                          args.sample_seconds))
    report(stats, elapsed)
    if stats.errors:
        raise SystemExit(1)


@contextmanager
def target_api(args: argparse.Namespace, settings: Settings) -> Iterator[tuple[str, int]]:
    if args.scratch:
        with scratch_api(settings) as (url, pid):
            yield url, args.pid or pid
        return
    url = args.url.rstrip("/")
    pid = args.pid or pid_listening_on(httpx.URL(url).port or 80)
    if pid is None:
        raise SystemExit("could not find the API process by its port; pass --pid")
    yield url, pid


if __name__ == "__main__":
    main()
