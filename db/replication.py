"""Streaming replication as a standby reports it: how far the read replica is behind the primary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

LAG_SQL = """
SELECT
    pg_is_in_recovery() AS in_recovery,
    CASE
        WHEN NOT pg_is_in_recovery() THEN 0
        -- everything received is replayed: caught up, however long ago the last write was
        WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
        ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)
    END::float8 AS lag_seconds,
    coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::float8 AS lag_bytes,
    (SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming') > 0 AS streaming
"""
"""One row on the read server. On the primary itself (no replica): not in recovery, zero lag."""


@dataclass(frozen=True)
class ReplicaLag:
    in_recovery: bool
    """False: the server is a primary (reads are not on a replica, or the replica was promoted)."""
    seconds: float
    """Since the last replayed transaction, while WAL received is still waiting to be replayed; 0 when caught up."""
    bytes: float
    """WAL received but not yet replayed."""
    streaming: bool
    """The standby's WAL receiver is connected to the primary (False: it replays nothing new)."""

    @classmethod
    def from_row(cls, row: Any) -> ReplicaLag:
        in_recovery, seconds, lag_bytes, streaming = row
        return cls(bool(in_recovery), float(seconds), float(lag_bytes), bool(streaming))


def replica_lag(engine: Engine) -> ReplicaLag:
    with engine.connect() as conn:
        return ReplicaLag.from_row(conn.exec_driver_sql(LAG_SQL).one())
