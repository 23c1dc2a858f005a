"""The stack's OpenSearch nodes: one single-node server (the default), or CATALOG_OPENSEARCH_NODES of a cluster.

Every node is the same launcher (`stack/opensearch_node.py`). Node k of n (1-based) listens on
opensearch_port + k - 1 (HTTP) and opensearch_transport_port + k - 1, finds the others through
`discovery.seed_hosts` and, on a first start, bootstraps the cluster from `cluster.initial_cluster_manager_nodes`.
A cluster keeps its files apart from the single node's, so switching between 1 and n nodes never mixes cluster
states (each layout keeps its own index: `catalog reindex` fills the one that is behind).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from catalog.settings import PROJECT_ROOT, Settings
from stack import opensearch_build, opensearch_node
from stack.processes import Say, StackError, port_is_open

CLUSTER_NAME = "catalog-dev"
START_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Node:
    number: int | None
    """1..n in a cluster; None for the single node (its files are the original layout)."""
    http_port: int
    transport_port: int

    @property
    def name(self) -> str:
        """How status and logs name it (`catalog stack logs <name>`)."""
        return "opensearch" if self.number is None else f"opensearch-{self.number}"

    @property
    def node_name(self) -> str:
        """OpenSearch's `node.name`."""
        return f"catalog-node-{self.number}"


def nodes(settings: Settings) -> list[Node]:
    if settings.opensearch_nodes == 1:
        return [Node(None, settings.opensearch_port, settings.opensearch_transport_port)]
    return [
        Node(k + 1, settings.opensearch_port + k, settings.opensearch_transport_port + k)
        for k in range(settings.opensearch_nodes)
    ]


def node_settings(settings: Settings, node: Node) -> dict[str, str]:
    """The `-E` settings that make a node one of the cluster (none for the single node: single-node discovery)."""
    if node.number is None:
        return {}
    members = nodes(settings)
    return {
        "cluster.name": CLUSTER_NAME,
        "node.name": node.node_name,
        "discovery.type": "zen",
        "discovery.seed_hosts": ",".join(f"127.0.0.1:{m.transport_port}" for m in members),
        "cluster.initial_cluster_manager_nodes": ",".join(m.node_name for m in members),
    }


def log_path(settings: Settings, node: Node) -> Path:
    return opensearch_node.log_file(settings.stack_dir, node.number)


def running_pid(settings: Settings, node: Node) -> int | None:
    return opensearch_node.running_pid(settings.stack_dir, node.number)


def data_dir(settings: Settings, node: Node) -> Path:
    return opensearch_node.data_dir(settings.stack_dir, node.number)


def is_healthy(node: Node) -> bool:
    return opensearch_node.is_healthy(node.http_port)


def start(settings: Settings, say: Say = print, lib_dir: Path | None = None) -> None:
    """Start every node that is not running (never a second copy) and wait until the cluster has them all.

    `lib_dir`: jars already built (a test reuses the dev stack's); by default they are built under the stack dir.
    """
    members = nodes(settings)
    _refuse_other_layout(settings)
    pids = {node.number: running_pid(settings, node) for node in members}
    missing = [node for node in members if pids[node.number] is None]
    for node in missing:
        for port in (node.http_port, node.transport_port):
            if port_is_open("127.0.0.1", port):
                raise StackError(
                    f"port {port} ({node.name}) is already in use by another program. Stop it, or set "
                    "CATALOG_OPENSEARCH_PORT / CATALOG_OPENSEARCH_TRANSPORT_PORT to free ports (node k of "
                    "CATALOG_OPENSEARCH_NODES uses each plus k-1), or CATALOG_STACK_MANAGED=false to use that server."
                )
    if missing:
        if lib_dir is None:
            say("opensearch: assembling the node from Maven Central (cached after the first run) ...")
            lib_dir = opensearch_build.build(PROJECT_ROOT, settings.stack_dir, progress=say)
        fresh = [node.name for node in missing if not any(data_dir(settings, node).glob("*"))]
        if fresh and len(members) > 1:
            say(f"opensearch: {', '.join(fresh)} start with no data: `catalog reindex` fills the index from PostgreSQL")
        names = ", ".join(node.name for node in missing)
        say(f"opensearch: starting {names} (heap {settings.opensearch_heap} each) ...")
        for node in missing:  # the pid of the process started: right after the fork it is not `java` yet
            pids[node.number] = opensearch_node.start(
                settings.stack_dir,
                node.http_port,
                node.transport_port,
                settings.opensearch_heap,
                lib_dir,
                node=node.number,
                node_settings=node_settings(settings, node),
            )
    deadline = time.monotonic() + START_TIMEOUT_S
    for node in members:
        pid = pids[node.number]
        if pid is None:
            raise StackError(f"{node.name} is not running; see {log_path(settings, node)}")
        opensearch_node.wait_healthy(
            node.http_port, max(1.0, deadline - time.monotonic()), pid, log_path(settings, node)
        )
    if len(members) > 1:
        wait_for_nodes(members[0].http_port, len(members), max(1.0, deadline - time.monotonic()))
        say(f"opensearch: {len(members)} nodes in cluster {CLUSTER_NAME}")


def _refuse_other_layout(settings: Settings) -> None:
    """The single node and a cluster share ports: switching CATALOG_OPENSEARCH_NODES needs the other one stopped."""
    stack_dir = settings.stack_dir
    if settings.opensearch_nodes == 1:
        others: list[int | None] = list(opensearch_node.cluster_pid_files(stack_dir))
    else:
        others = [None, *(k for k in opensearch_node.cluster_pid_files(stack_dir) if k > settings.opensearch_nodes)]
    running = [k for k in others if opensearch_node.running_pid(stack_dir, k) is not None]
    if running:
        names = ", ".join("the single node" if k is None else f"opensearch-{k}" for k in running)
        raise StackError(
            f"OpenSearch of another node count is running in {stack_dir} ({names}), not the "
            f"{settings.opensearch_nodes} node(s) CATALOG_OPENSEARCH_NODES asks for: run `catalog stack down` "
            "(it stops every node), then `catalog stack up` again."
        )


def wait_for_nodes(http_port: int, count: int, timeout_s: float) -> None:
    """Until the cluster the node on `http_port` belongs to has `count` nodes."""
    deadline = time.monotonic() + timeout_s
    while True:
        health = opensearch_node.cluster_health(http_port)
        if health is not None and health.get("number_of_nodes") == count:
            return
        if time.monotonic() >= deadline:
            seen = None if health is None else health.get("number_of_nodes")
            raise StackError(
                f"the OpenSearch cluster has {seen} of {count} nodes after {timeout_s:.0f}s; check "
                "`catalog stack logs` for the node that did not join (a port in use, or a data dir of another "
                "cluster: `catalog stack clean` starts afresh)."
            )
        time.sleep(0.5)


def stop(settings: Settings) -> list[str]:
    """Stop every node under the stack dir, the single one and any cluster node whatever the node count is now.

    All are asked at once (SIGTERM), so n nodes take about the time of one. Returns the names of those stopped.
    """
    stack_dir = settings.stack_dir
    numbers: list[int | None] = [None, *opensearch_node.cluster_pid_files(stack_dir)]
    running = [number for number in numbers if opensearch_node.running_pid(stack_dir, number) is not None]
    for number in running:
        opensearch_node.signal_stop(stack_dir, number)
    for number in numbers:
        opensearch_node.stop(stack_dir, node=number)  # waits for the ones asked; removes stale pid files
    return ["opensearch" if number is None else f"opensearch-{number}" for number in running]
