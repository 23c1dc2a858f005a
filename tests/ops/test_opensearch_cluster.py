"""A node lost under load loses nothing: `kill -9` of the primary's node in a 3-node cluster of the native stack.

The cluster (3 nodes of 320m on free ports from 9400/9500, its own stack dir), the database and the alias are this
test's own (`bench/opensearch_failover.py`, which runs the same drill as a benchmark); the shared stack's OpenSearch
is never touched. Marked `slow` (about 2-3 minutes on two cores): `pytest -m "not slow"` leaves it out; CI runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.opensearch_failover import Options, Report, drill, isolated_cluster, shared_lib_dir
from catalog.settings import Settings
from indexer.client import make_client
from indexer.mapping import ensure_index

pytestmark = pytest.mark.slow

OPTIONS = Options(nodes=3, heap="320m", searchers=16, writers=1, seed_products=60, warmup_s=1, before_s=3, down_s=6,
                  after_s=2)


@pytest.fixture(scope="module")
def cluster(stack: Settings) -> Iterator[Settings]:
    """Settings pointed at a 3-node cluster, database and alias of this module; all removed afterwards."""
    with isolated_cluster(stack, OPTIONS, say=lambda _: None) as settings:
        yield settings


def test_index_settings_follow_the_cluster(cluster: Settings) -> None:
    assert (cluster.opensearch_nodes, cluster.index_replica_count) == (3, 1)
    assert [h["port"] for h in cluster.opensearch_hosts] == [cluster.opensearch_port + k for k in range(3)]
    client = make_client(cluster)
    try:
        index = ensure_index(client, cluster)
        live = client.indices.get_settings(index=index)[index]["settings"]["index"]
        nodes = {node["name"] for node in client.cat.nodes(format="json", h="name")}
    finally:
        client.close()
    assert (live["number_of_shards"], live["number_of_replicas"]) == ("1", "1")
    assert nodes == {"catalog-node-1", "catalog-node-2", "catalog-node-3"}


def test_stack_status_and_logs_cover_every_node(cluster: Settings) -> None:
    from stack import manager

    managed = cluster.model_copy(update={"stack_managed": True})  # as `catalog stack status` sees its own nodes
    nodes = [s for s in manager.status(managed) if s.name.startswith("opensearch")]
    assert [(s.name, s.address, s.healthy) for s in nodes] == [
        (f"opensearch-{k + 1}", f"http://127.0.0.1:{cluster.opensearch_port + k}", True) for k in range(3)
    ]
    assert all(s.pid is not None and s.data is not None and s.data.is_relative_to(cluster.stack_dir) for s in nodes)
    assert "catalog-node-2" in manager.logs(cluster, "opensearch-2", 200)


def test_node_ports_must_not_overlap() -> None:
    with pytest.raises(ValueError, match="CATALOG_OPENSEARCH_TRANSPORT_PORT"):
        Settings(opensearch_nodes=3, opensearch_port=9400, opensearch_transport_port=9401)


async def test_kill_9_of_a_node_under_load_fails_no_search_and_loses_no_write(
    cluster: Settings, stack: Settings, tmp_path: Path
) -> None:
    report: Report = await drill(cluster, OPTIONS, lambda _: None, tmp_path, shared_lib_dir(stack))
    summary = "\n".join(report.lines() + report.failures)

    assert report.failed_searches == 0, summary
    assert len(report.phases["failover"].latencies_ms) > 0, summary  # searches did run while the node was dead
    assert report.api_dead_node_marks > 0, summary  # the API did meet the dead node, and retried elsewhere
    assert report.writes > OPTIONS.seed_products and report.failed_writes == 0, summary
    assert (report.drift, report.pending) == (0, 0), summary
    assert report.opensearch_count == report.postgres_count == report.writes, summary
    assert (report.status_at_end, report.nodes_at_end) == ("green", 3), summary
