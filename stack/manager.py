"""`catalog stack up|down|status|logs`: bring the services up idempotently and report on them."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from catalog.settings import Settings
from stack import object_store, opensearch_cluster, postgres_server, redis_server
from stack.processes import Say, StackError, ensure_debian_packages, tail


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    address: str
    managed: bool
    pid: int | None
    healthy: bool
    data: Path | None
    """Where the service keeps its files (None: a server the user runs)."""


def _opensearch_statuses(settings: Settings, managed: bool) -> list[ServiceStatus]:
    """One line per node: `opensearch` for the single node, `opensearch-1`..`-n` for a cluster."""
    return [
        ServiceStatus(
            node.name,
            f"http://{settings.opensearch_host}:{node.http_port}",
            managed,
            opensearch_cluster.running_pid(settings, node),
            opensearch_cluster.is_healthy(node),
            opensearch_cluster.data_dir(settings, node) if managed else None,
        )
        for node in opensearch_cluster.nodes(settings)
    ]


CHROMIUM = "/usr/bin/chromium"
"""Debian's headless browser: the browser tests and the dashboard benchmark drive it with Playwright."""


def install_browser(say: Say = print) -> None:
    """Install Debian's chromium when it is missing (as root; otherwise the error names the apt-get line)."""
    ensure_debian_packages({"chromium": CHROMIUM}, ["chromium"], say)


def up(settings: Settings, say: Say = print) -> list[ServiceStatus]:
    """Start whatever is not running yet; never a second copy. Returns the final status."""
    started = time.monotonic()
    if settings.stack_managed:
        postgres_server.install(say)
        redis_server.install(say)
        say("postgres: starting ...")
        postgres_server.start(settings, say)
        if settings.postgres_replica:
            say("postgres replica: starting ...")
            postgres_server.start_replica(settings, say)
        say("redis: starting ...")
        redis_server.start(settings, say)
        opensearch_cluster.start(settings, say)
        if settings.s3_local_port is not None:
            say("object store: starting ...")
            object_store.start(settings, say)
    statuses = status(settings)
    unhealthy = [s for s in statuses if not s.healthy]
    if unhealthy:
        names = ", ".join(f"{s.name} ({s.address})" for s in unhealthy)
        hint = (
            "check `catalog stack logs`"
            if settings.stack_managed
            else "start them, or unset CATALOG_STACK_MANAGED to let `catalog stack up` run its own"
        )
        raise StackError(f"not healthy: {names}; {hint}.")
    postgres_server.ensure_database(settings, settings.postgres_db)
    say(f"stack up in {time.monotonic() - started:.1f}s")
    return statuses


def down(settings: Settings, say: Say = print) -> None:
    if not settings.stack_managed:
        say("CATALOG_STACK_MANAGED=false: the services are yours, nothing stopped.")
        return
    say("object store: " + ("stopped" if object_store.stop(settings) else "was not running"))
    stopped = opensearch_cluster.stop(settings)
    named = "" if stopped == ["opensearch"] else f" {', '.join(stopped)}"
    say("opensearch: " + (f"stopped{named}" if stopped else "was not running"))
    say("redis: " + ("stopped" if redis_server.stop(settings) else "was not running"))
    if postgres_server.replica_running_pid(settings):
        say("postgres replica: " + ("stopped" if postgres_server.stop_replica(settings) else "was not running"))
    say("postgres: " + ("stopped" if postgres_server.stop(settings) else "was not running"))


def clean(settings: Settings, say: Say = print) -> None:
    """Stop the services and delete every file they keep, wherever it is (`make clean`)."""
    down(settings, say)
    if not settings.stack_managed:
        return
    postgres_server.delete_cluster(settings)
    say(f"deleted {postgres_server.cluster_dir(settings)}")
    shutil.rmtree(settings.stack_dir, ignore_errors=True)
    say(f"deleted {settings.stack_dir}")


def status(settings: Settings) -> list[ServiceStatus]:
    managed = settings.stack_managed
    return [*_primary_statuses(settings, managed), *_replica_statuses(settings, managed)]


def _replica_statuses(settings: Settings, managed: bool) -> list[ServiceStatus]:
    """The stack's PostgreSQL replica, when CATALOG_POSTGRES_REPLICA=true (nothing otherwise)."""
    if not (managed and settings.postgres_replica):
        return []
    return [
        ServiceStatus(
            "postgres-replica",
            f"127.0.0.1:{settings.postgres_replica_port}",
            managed,
            postgres_server.replica_running_pid(settings),
            postgres_server.replica_is_healthy(settings),
            postgres_server.replica_dir(settings),
        )
    ]


def _primary_statuses(settings: Settings, managed: bool) -> list[ServiceStatus]:
    return [
        ServiceStatus(
            "postgres",
            f"{settings.postgres_host}:{settings.postgres_port}",
            managed,
            postgres_server.running_pid(settings),
            postgres_server.is_healthy(settings),
            postgres_server.cluster_dir(settings) if managed else None,
        ),
        ServiceStatus(
            "redis",
            f"{settings.redis_host}:{settings.redis_port}",
            managed,
            redis_server.running_pid(settings),
            redis_server.is_healthy(settings),
            redis_server.data_dir(settings) if managed else None,
        ),
        *_opensearch_statuses(settings, managed),
        ServiceStatus(
            "object-store",
            settings.s3_endpoint_url,
            managed and settings.s3_local_port is not None,
            object_store.running_pid(settings),
            object_store.is_healthy(settings),
            object_store.data_dir(settings) if managed and settings.s3_local_port is not None else None,
        ),
    ]


def log_paths(settings: Settings) -> dict[str, Path]:
    paths = {
        "postgres": postgres_server.log_path(settings),
        "redis": redis_server.log_path(settings),
        **{node.name: opensearch_cluster.log_path(settings, node) for node in opensearch_cluster.nodes(settings)},
        "object-store": object_store.log_path(settings),
    }
    if settings.postgres_replica:
        paths["postgres-replica"] = postgres_server.replica_log_path(settings)
    return paths


def logs(settings: Settings, service: str | None, lines: int) -> str:
    chosen = {k: v for k, v in log_paths(settings).items() if service in (None, k)}
    if not chosen:
        raise StackError(f"unknown service {service!r}; choose one of: {', '.join(log_paths(settings))}")
    return "\n".join(f"==> {name}: {path}\n{tail(path, lines)}" for name, path in chosen.items())
