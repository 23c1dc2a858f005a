"""What the OpenSearch failover drill (`bench/opensearch_failover.py`) measured: searches per phase (before,
during and after the node's loss) with their latencies and failures, the writes and what `catalog verify` found of
them, the restart and time to green, and the lines it prints them as."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.stats import nearest_rank


@dataclass
class Phase:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    failed: int = 0

    def percentile(self, q: float) -> float:
        return nearest_rank(self.latencies_ms, q) if self.latencies_ms else 0.0


@dataclass
class Report:
    killed: str = ""
    phases: dict[str, Phase] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    """The first failed searches (status and body), for the error message."""
    writes: int = 0
    failed_writes: int = 0
    drift: int = -1
    pending: int = -1
    postgres_count: int = -1
    opensearch_count: int = -1
    restart_s: float = 0.0
    """From the restart to the node back in the cluster."""
    green_s: float = 0.0
    """From the restart to a green cluster."""
    nodes_at_end: int = 0
    status_at_end: str = ""
    api_dead_node_marks: int = 0
    """How often the API's client took a node out after a failed connection (each time, it retried elsewhere)."""

    @property
    def searches(self) -> int:
        return sum(len(p.latencies_ms) + p.failed for p in self.phases.values())

    @property
    def failed_searches(self) -> int:
        return sum(p.failed for p in self.phases.values())

    def lines(self) -> list[str]:
        out = [f"killed {self.killed} (held the index's primary shard) with SIGKILL"]
        for phase in self.phases.values():
            out.append(
                f"  {phase.name:<9} {len(phase.latencies_ms) + phase.failed:6d} searches, {phase.failed} failed, "
                f"p50 {phase.percentile(0.50):7.1f} ms, p99 {phase.percentile(0.99):7.1f} ms"
            )
        out.append(f"failed searches: {self.failed_searches} of {self.searches} "
                   f"(the API's client left a dead node out {self.api_dead_node_marks} times, retrying elsewhere)")
        out.append(f"writes: {self.writes} acknowledged by the API, {self.failed_writes} refused")
        out.append(
            f"catalog verify: drift {self.drift}, pending {self.pending}, "
            f"PostgreSQL {self.postgres_count} = OpenSearch {self.opensearch_count}"
        )
        out.append(f"restart: node back in the cluster after {self.restart_s:.1f}s, green after {self.green_s:.1f}s")
        out.append(f"cluster at the end: {self.status_at_end}, {self.nodes_at_end} nodes")
        return out
