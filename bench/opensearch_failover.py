"""A node lost under load: `kill -9` of one node of a 3-node OpenSearch cluster while searches and writes run.

Everything runs on its own: a cluster of the native stack's launcher on free ports (HTTP from 9400, transport from
9500) under a scratch stack dir, a fresh database and index alias, `catalog indexer run` and the API (uvicorn) as
processes pointed at every node. The PostgreSQL and Redis of the dev stack are used (never stopped); its OpenSearch
is never touched. Reports failed searches, p50/p99 before, during (kill -> node back) and after the failover, lost
writes (`catalog verify` drift) and the time to green after the restart. `tests/ops/test_opensearch_cluster.py` runs
the same drill and asserts on its report.

    .venv/bin/python bench/opensearch_failover.py                 # 16 searchers, 3 nodes of 320m
    .venv/bin/python bench/opensearch_failover.py --down 20 --searchers 32
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.auth.security import issue_token
from bench.api_process import free_port, start_api
from bench.failover_report import Phase, Report
from catalog.settings import PROJECT_ROOT, Settings, get_settings
from db.migrate import upgrade
from indexer.client import make_client
from indexer.mapping import ensure_index, template_name
from indexer.verify import verify
from stack import manager, opensearch_cluster, opensearch_node
from stack.postgres_server import drop_database, ensure_database
from stack.processes import port_is_open, stop_child

Say = Callable[[str], None]
BIN = Path(sys.executable).parent
WORDS = ("kettle", "lamp", "chair", "steel", "oak", "linen", "blue", "acme", "nordic", "compact", "travel", "glass")
BRANDS = ("Acme", "Nordic", "Brightside", "Oakwood")
GREEN_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Options:
    nodes: int = 3
    heap: str = "320m"
    searchers: int = 16
    writers: int = 2
    write_pause_s: float = 0.05
    """Each writer's pause between products (writes are the background, searches the load)."""
    seed_products: int = 100
    warmup_s: float = 5.0
    """Load before the measured phases (fresh JVMs compile their hot code under it)."""
    before_s: float = 5.0
    """Load before the kill."""
    down_s: float = 10.0
    """How long the node stays dead under load before it is restarted."""
    after_s: float = 3.0
    """Load after the cluster is green again."""
    http_port: int = 9400
    """First HTTP port tried; the cluster takes the first `nodes` consecutive free ones from here (and the
    transport ports 100 above)."""


# --- an isolated cluster, database and alias --------------------------------------------------------------------


def _free_block(first: int, count: int, limit: int = 100) -> int:
    """The first port p >= `first` with p..p+count-1 and their transport ports (p+100...) all free."""
    for base in range(first, first + limit - count + 1):
        ports = [*range(base, base + count), *range(base + 100, base + 100 + count)]
        if not any(port_is_open("127.0.0.1", port) for port in ports):
            return base
    raise RuntimeError(f"no {count} free consecutive ports in {first}-{first + limit - 1} (and 100 above): "
                       "stop what listens there, or pass --port")


def shared_lib_dir(base: Settings) -> Path:
    """The jars the dev stack's node runs on (`catalog stack up` builds them): the cluster reuses them."""
    return base.stack_dir / "opensearch" / "lib"


@contextlib.contextmanager
def isolated_cluster(base: Settings, options: Options, say: Say) -> Iterator[Settings]:
    """`base` re-pointed at a cluster, database and alias of its own; all of them removed at the end."""
    manager.up(base, say=lambda _: None)  # the dev stack's PostgreSQL and Redis, and the jars its node runs on
    token = uuid.uuid4().hex[:8]
    http_port = _free_block(options.http_port, options.nodes)
    stack_dir = Path(tempfile.mkdtemp(prefix="catalog-failover-"))
    settings = base.model_copy(update={
        "stack_dir": stack_dir,
        "stack_managed": False,
        "opensearch_nodes": options.nodes,
        "opensearch_port": http_port,
        "opensearch_transport_port": http_port + 100,
        "opensearch_heap": options.heap,
        "index_replicas": 1,
        "postgres_db": f"catalog_failover_{token}",
        "index_alias": f"failover_{token}_products",
        "rate_limit_per_minute": 0,
    })
    try:
        say(f"database {settings.postgres_db}: migrating ...")
        ensure_database(settings, settings.postgres_db)
        upgrade(settings.database_url)
        say(f"opensearch: {options.nodes} nodes of {options.heap} on {http_port}-{http_port + options.nodes - 1} "
            f"under {stack_dir} ...")
        started = time.monotonic()
        opensearch_cluster.start(settings, say, lib_dir=shared_lib_dir(base))
        say(f"opensearch: cluster up in {time.monotonic() - started:.0f}s")
        yield settings
    finally:
        stopped = opensearch_cluster.stop(settings)
        say(f"opensearch: stopped {', '.join(stopped) or 'nothing'}")
        from db.session import sync_engine

        sync_engine.cache_clear()
        drop_database(settings, settings.postgres_db)
        shutil.rmtree(stack_dir, ignore_errors=True)


def service_env(settings: Settings) -> dict[str, str]:
    """What points `catalog indexer run` and the API at the isolated cluster, database and alias."""
    return {
        **os.environ,
        "CATALOG_POSTGRES_DB": settings.postgres_db,
        "CATALOG_INDEX_ALIAS": settings.index_alias,
        "CATALOG_OPENSEARCH_NODES": str(settings.opensearch_nodes),
        "CATALOG_OPENSEARCH_PORT": str(settings.opensearch_port),
        "CATALOG_OPENSEARCH_TRANSPORT_PORT": str(settings.opensearch_transport_port),
        "CATALOG_INDEX_REPLICAS": str(settings.index_replica_count),
        "CATALOG_STACK_DIR": str(settings.stack_dir),
        "CATALOG_STACK_MANAGED": "false",
        "CATALOG_RATE_LIMIT_PER_MINUTE": "0",
    }


# --- the drill -------------------------------------------------------------------------------------------------


def _health(settings: Settings) -> dict[str, object]:
    for host in settings.opensearch_hosts:
        body = opensearch_node.cluster_health(int(host["port"]))
        if body is not None:
            return body
    return {}


def _primary_node(settings: Settings) -> opensearch_cluster.Node:
    """The node that holds the primary of the index's first shard (losing it forces a promotion)."""
    client = make_client(settings)
    try:
        shards = client.cat.shards(index=settings.index_alias, format="json", h="shard,prirep,node")
    finally:
        client.close()
    name = next(s["node"] for s in shards if s["prirep"] == "p" and s["shard"] == "0")
    return next(node for node in opensearch_cluster.nodes(settings) if node.node_name == name)


def _wait_green(settings: Settings, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while _health(settings).get("status") != "green":
        if time.monotonic() >= deadline:
            raise RuntimeError(f"the cluster is not green after {timeout_s:.0f}s: {_health(settings)}")
        time.sleep(0.2)


def _wait_drained(settings: Settings, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        while True:
            row = conn.execute("SELECT count(*) FROM outbox WHERE processed_at IS NULL").fetchone()
            if row is not None and row[0] == 0:
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(f"{row and row[0]} outbox changes still unindexed after {timeout_s:.0f}s")
            time.sleep(0.2)


class Load:
    """Searchers and writers against the API until `stop`; each search is booked to the phase current when it
    started, so a search that spans the kill counts as during the failover."""

    def __init__(self, api_url: str, token: str, report: Report, write_pause_s: float) -> None:
        self.write_pause_s = write_pause_s
        self.api_url = api_url
        self.token = token
        self.report = report
        self.phase = Phase("warmup")
        report.phases[self.phase.name] = self.phase
        self.stop = asyncio.Event()

    def enter(self, name: str) -> None:
        self.phase = Phase(name)
        self.report.phases[name] = self.phase

    async def searcher(self, http: httpx.AsyncClient, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop.is_set():
            params = {"q": " ".join(rng.sample(WORDS, rng.choice((1, 2)))), "page": str(rng.randint(1, 3))}
            phase = self.phase
            started = time.perf_counter()
            try:
                response = await http.get("/search", params=params)
                ok, detail = response.status_code == 200, f"{response.status_code} {response.text[:300]}"
            except httpx.HTTPError as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            if ok:
                phase.latencies_ms.append((time.perf_counter() - started) * 1000)
            else:
                phase.failed += 1
                if len(self.report.failures) < 5:
                    self.report.failures.append(f"{phase.name}: GET /search {params}: {detail}")

    async def writer(self, http: httpx.AsyncClient, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop.is_set():
            await self.write_one(http, rng)
            await asyncio.sleep(self.write_pause_s)

    async def write_one(self, http: httpx.AsyncClient, rng: random.Random) -> None:
        body = {
            "sku": f"FO-{uuid.uuid4().hex[:12]}",
            "name": " ".join(rng.sample(WORDS, 3)).title(),
            "brand": rng.choice(BRANDS),
            "price": round(rng.uniform(5, 500), 2),
            "description": " ".join(rng.choices(WORDS, k=12)),
        }
        response = await http.post("/products", json=body, headers={"Authorization": f"Bearer {self.token}"})
        if response.status_code == 201:
            self.report.writes += 1
        else:
            self.report.failed_writes += 1


async def drill(settings: Settings, options: Options, say: Say, workdir: Path, lib_dir: Path) -> Report:
    """Seed, load, kill -9 the primary's node, restart it (from `lib_dir`), wait for green, stop, drain, verify."""
    report = Report()
    client = make_client(settings)
    ensure_index(client, settings)
    client.close()
    _wait_green(settings, GREEN_TIMEOUT_S)
    env = service_env(settings)
    indexer_log = workdir / "indexer.log"
    with indexer_log.open("wb") as log:
        indexer = subprocess.Popen([str(BIN / "catalog"), "indexer", "run", "--log-level", "WARNING"],
                                   cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    api_port = free_port()
    api: subprocess.Popen[bytes] | None = None
    try:
        api = start_api(api_port, workdir / "api.log", env)
        load = Load(f"http://127.0.0.1:{api_port}", issue_token(settings, uuid.uuid4(), ["admin"]), report,
                    options.write_pause_s)
        limits = httpx.Limits(max_connections=options.searchers + options.writers)
        async with httpx.AsyncClient(base_url=load.api_url, timeout=30, limits=limits) as http:
            say(f"seeding {options.seed_products} products through the API ...")
            rng = random.Random(0)
            for _ in range(options.seed_products):
                await load.write_one(http, rng)
            tasks = [asyncio.create_task(load.searcher(http, n)) for n in range(options.searchers)]
            tasks += [asyncio.create_task(load.writer(http, 1000 + n)) for n in range(options.writers)]
            say(f"load: {options.searchers} searchers, {options.writers} writers; {options.warmup_s:.0f}s warm-up, "
                f"{options.before_s:.0f}s to the kill")
            await asyncio.sleep(options.warmup_s)
            load.enter("before")
            await asyncio.sleep(options.before_s)
            victim = _primary_node(settings)
            pid = opensearch_cluster.running_pid(settings, victim)
            if pid is None:
                raise RuntimeError(f"{victim.name} is not running before the kill")
            report.killed = victim.name
            load.enter("failover")
            os.kill(pid, signal.SIGKILL)
            say(f"kill -9 {victim.name} (pid {pid}); restarting it in {options.down_s:.0f}s")
            await asyncio.sleep(options.down_s)
            restarted = time.monotonic()
            await asyncio.to_thread(opensearch_cluster.start, settings, lambda _: None, lib_dir)
            report.restart_s = time.monotonic() - restarted
            load.enter("recovery")
            say(f"{victim.name} back in the cluster after {report.restart_s:.1f}s; waiting for green ...")
            await asyncio.to_thread(_wait_green, settings, GREEN_TIMEOUT_S)
            report.green_s = time.monotonic() - restarted
            load.enter("after")
            say(f"green {report.green_s:.1f}s after the restart; {options.after_s:.0f}s more load")
            await asyncio.sleep(options.after_s)
            load.stop.set()
            await asyncio.gather(*tasks)
        say(f"{report.searches} searches, {report.failed_searches} failed; {report.writes} writes; draining ...")
        await asyncio.to_thread(_wait_drained, settings, 90)
    finally:
        for process in (api, indexer):
            if process is not None:
                stop_child(process, 30)
    report.api_dead_node_marks = (workdir / "api.log").read_text(errors="replace").count("putting on")
    drift = verify(settings)
    report.drift, report.pending = drift.drift, drift.pending
    report.postgres_count, report.opensearch_count = drift.postgres_count, drift.opensearch_count
    health = _health(settings)
    report.status_at_end = str(health.get("status"))
    report.nodes_at_end = int(str(health.get("number_of_nodes", 0)))
    cleanup = make_client(settings)
    cleanup.indices.delete(index=f"{settings.index_alias}_v*", ignore_unavailable=True)
    cleanup.indices.delete_index_template(name=template_name(settings.index_alias))
    cleanup.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Options()
    parser.add_argument("--nodes", type=int, default=defaults.nodes, help="cluster size (at least 2)")
    parser.add_argument("--heap", default=defaults.heap, help="heap per node, e.g. 320m or 1g")
    parser.add_argument("--searchers", type=int, default=defaults.searchers, help="concurrent search clients")
    parser.add_argument("--writers", type=int, default=defaults.writers, help="concurrent product writers")
    parser.add_argument("--write-pause", type=float, default=defaults.write_pause_s,
                        help="seconds each writer waits between products")
    parser.add_argument("--seed", type=int, default=defaults.seed_products, help="products written before the load")
    parser.add_argument("--warmup", type=float, default=defaults.warmup_s, help="seconds of unmeasured load first")
    parser.add_argument("--before", type=float, default=defaults.before_s, help="seconds of load before the kill")
    parser.add_argument("--down", type=float, default=defaults.down_s, help="seconds the node stays dead")
    parser.add_argument("--after", type=float, default=defaults.after_s, help="seconds of load after green")
    parser.add_argument("--port", type=int, default=defaults.http_port,
                        help="first HTTP port to try (transport ports are 100 above); never 9200/9300")
    args = parser.parse_args()
    if args.nodes < 2:
        parser.error("--nodes must be at least 2: a single node has no copy to fail over to")
    options = Options(nodes=args.nodes, heap=args.heap, searchers=args.searchers, writers=args.writers,
                      write_pause_s=args.write_pause, seed_products=args.seed, warmup_s=args.warmup,
                      before_s=args.before, down_s=args.down, after_s=args.after, http_port=args.port)

    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="catalog-failover-logs-"))
    base = get_settings()
    with isolated_cluster(base, options, say) as settings:
        report = asyncio.run(drill(settings, options, say, workdir, shared_lib_dir(base)))
    print("\n".join(report.lines()))
    for failure in report.failures:
        print(f"  failed: {failure}")
    print(f"logs: {workdir}")


if __name__ == "__main__":
    main()
