"""A project-local PostgreSQL cluster from Debian's packages: initdb once, then pg_ctl start/stop.

Run by a normal user, the cluster lives in `<stack_dir>/postgres` and runs as that user. Run by root it must
run as the `postgres` service user, which cannot enter a clone in a private folder (root's 0700 home, a
`mktemp -d` folder), so its files live in that user's own home instead, one folder per stack dir:
`/var/lib/postgresql/catalog-stacks/<12 hex of the stack dir's path>/`. Nothing of the user's is loosened.
`catalog stack status` prints where; `catalog stack clean` (and `make clean`) deletes it.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import psycopg

from catalog.settings import Settings
from stack.processes import Say, StackError, ensure_debian_packages, port_is_open, read_pid, tail

SERVICE_USER = "postgres"


def _bin_dir() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise StackError("PostgreSQL server binaries not found; run: apt-get install -y postgresql")
    return versions[-1].parent


def cluster_dir(settings: Settings) -> Path:
    """The folder with the cluster's data, socket, log and pid file (see the module docstring)."""
    if os.geteuid() != 0:
        return settings.stack_dir / "postgres"
    key = hashlib.sha1(str(settings.stack_dir.resolve()).encode()).hexdigest()[:12]
    return Path(pwd.getpwnam(SERVICE_USER).pw_dir) / "catalog-stacks" / key


def _data_dir(settings: Settings) -> Path:
    return cluster_dir(settings) / "data"


def _log_path(settings: Settings) -> Path:
    return cluster_dir(settings) / "postgres.log"


def _as_service_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root, so root runs it as the `postgres` system user."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", SERVICE_USER, "--", *command]


def _run_as_service_user(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL program (as the service user under root), its output captured; the caller checks it."""
    return subprocess.run(_as_service_user(command), capture_output=True, text=True, check=False)


def _make_private_dir(path: Path) -> None:
    """`path` (and missing parents) mode 0700, owned by whoever runs the server."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(SERVICE_USER)
    for folder in (path.parent, path):
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        folder.chmod(0o700)


def _chown_for_service(path: Path) -> None:
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(SERVICE_USER)
    if path.is_file():
        os.chown(path, entry.pw_uid, entry.pw_gid)
        return
    for dirpath, _dirs, files in os.walk(path):
        os.chown(dirpath, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid)


def install(say: Say) -> None:
    ensure_debian_packages({"initdb": "/usr/lib/postgresql"}, ["postgresql"], say)
    _bin_dir()


def running_pid(settings: Settings) -> int | None:
    return read_pid(_data_dir(settings) / "postmaster.pid")


def is_healthy(settings: Settings) -> bool:
    try:
        with psycopg.connect(settings.admin_dsn, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _initdb(settings: Settings, say: Say) -> None:
    data = _data_dir(settings)
    _make_private_dir(data.parent)
    data.mkdir(mode=0o700, exist_ok=True)
    pwfile = data.parent / "pwfile"
    pwfile.write_text(settings.postgres_password + "\n")
    _chown_for_service(data.parent)
    say(f"postgres: initdb {data}")
    result = _run_as_service_user(
        [
            str(_bin_dir() / "initdb"),
            "-D",
            str(data),
            "-U",
            settings.postgres_user,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]
    )
    pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        raise StackError(f"initdb failed:\n{result.stderr[-2000:]}")
    (data / "postgresql.auto.conf").write_text(
        "# written by `catalog stack up`\n"
        "max_connections = 200\n"
        "shared_buffers = '256MB'\n"
        "work_mem = '16MB'\n"
        "maintenance_work_mem = '256MB'\n"
        "wal_level = 'replica'\n"
        "max_wal_size = '2GB'\n"
        "checkpoint_timeout = '15min'\n"
        "log_min_messages = 'warning'\n"
    )
    _chown_for_service(data)


def start(settings: Settings, say: Say) -> None:
    if running_pid(settings):
        return
    if port_is_open("127.0.0.1", settings.postgres_port):
        raise StackError(
            f"port {settings.postgres_port} is already in use by another program. Stop it, or set "
            "CATALOG_POSTGRES_PORT to a free port (or CATALOG_STACK_MANAGED=false to use that server)."
        )
    if not (_data_dir(settings) / "PG_VERSION").exists():
        _initdb(settings, say)
    _pg_ctl_start(_data_dir(settings), settings.postgres_port, _log_path(settings), cluster_dir(settings) / "run")


def _pg_ctl_start(data: Path, port: int, log: Path, socket_dir: Path, extra: str = "") -> None:
    """Start the server of `data` on 127.0.0.1:`port` and wait until it accepts connections."""
    socket_dir.mkdir(parents=True, exist_ok=True)
    log.touch()
    _chown_for_service(socket_dir)
    _chown_for_service(log)
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={socket_dir} {extra}"
    result = _run_as_service_user(
        [
            str(_bin_dir() / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-o",
            options.strip(),
            "-w",
            "-t",
            "60",
            "start",
        ]
    )
    if result.returncode != 0:
        raise StackError(f"PostgreSQL ({data.name}) failed to start:\n{result.stdout[-1000:]}\n{tail(log)}")


def ensure_database(settings: Settings, name: str) -> None:
    """Create database `name` when it does not exist yet."""
    with psycopg.connect(settings.admin_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(settings: Settings, name: str) -> None:
    """Drop database `name` if it exists, disconnecting whoever is still connected (scratch and test databases)."""
    with psycopg.connect(settings.admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def recreate_database(settings: Settings, name: str) -> None:
    """An empty database `name`, whatever was there before."""
    drop_database(settings, name)
    ensure_database(settings, name)


def stop(settings: Settings) -> bool:
    return _pg_ctl_stop(_data_dir(settings))


def _pg_ctl_stop(data: Path) -> bool:
    """Stop the server of `data` (fast: open sessions are cut off); False when it was not running."""
    if not read_pid(data / "postmaster.pid"):
        return False
    _run_as_service_user([str(_bin_dir() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
    deadline = time.monotonic() + 30
    while read_pid(data / "postmaster.pid") and time.monotonic() < deadline:
        time.sleep(0.2)
    return True


def log_path(settings: Settings) -> Path:
    return _log_path(settings)


def delete_cluster(settings: Settings) -> None:
    """Stop the cluster (and its replica) and delete its files (all its databases)."""
    stop_replica(settings)
    stop(settings)
    shutil.rmtree(cluster_dir(settings), ignore_errors=True)


# --- the streaming replica (CATALOG_POSTGRES_REPLICA=true) ------------------------------------------------------
# A hot standby cloned from the primary with pg_basebackup and fed by streaming replication. initdb's pg_hba
# already lets the catalog user (a superuser, so it holds REPLICATION) connect for replication from 127.0.0.1, and
# the primary runs with wal_level=replica and PostgreSQL's default max_wal_senders (10), so the primary needs no
# change. The replica's files sit beside the primary's, so `catalog stack clean` deletes both.


def replica_dir(settings: Settings) -> Path:
    """The replica's folder: its data, socket, log (inside the primary's cluster folder)."""
    return cluster_dir(settings) / "replica"


def _replica_data_dir(settings: Settings) -> Path:
    return replica_dir(settings) / "data"


def replica_log_path(settings: Settings) -> Path:
    return replica_dir(settings) / "postgres.log"


def replica_running_pid(settings: Settings) -> int | None:
    return read_pid(_replica_data_dir(settings) / "postmaster.pid")


def replica_dsn(settings: Settings, database: str | None = None) -> str:
    """libpq connection string of the stack's replica (`postgres` database unless named)."""
    return (
        f"host=127.0.0.1 port={settings.postgres_replica_port} user={settings.postgres_user} "
        f"password={settings.postgres_password} dbname={database or 'postgres'} connect_timeout=2"
    )


def replica_is_healthy(settings: Settings) -> bool:
    """The replica answers and is in recovery (a standby, not a promoted copy taking writes)."""
    try:
        with psycopg.connect(replica_dsn(settings)) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        return bool(row and row[0])
    except psycopg.Error:
        return False


def _basebackup(settings: Settings, say: Say) -> None:
    """Clone the running primary into the replica's data folder, configured (-R) to stream from it."""
    data = _replica_data_dir(settings)
    _make_private_dir(replica_dir(settings))
    shutil.rmtree(data, ignore_errors=True)
    say(f"postgres replica: pg_basebackup from 127.0.0.1:{settings.postgres_port} into {data}")
    primary = (
        f"host=127.0.0.1 port={settings.postgres_port} user={settings.postgres_user} "
        f"password={settings.postgres_password} application_name=catalog_replica"
    )
    result = _run_as_service_user(
        [
            str(_bin_dir() / "pg_basebackup"),
            "-d",
            primary,
            "-D",
            str(data),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        ]
    )
    if result.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        raise StackError(
            f"pg_basebackup failed (is the primary up on port {settings.postgres_port}? `catalog stack status`):\n"
            f"{result.stderr[-2000:]}"
        )
    _chown_for_service(replica_dir(settings))


def start_replica(settings: Settings, say: Say) -> None:
    """Start the hot standby on postgres_replica_port, cloning the primary first when it has no data yet.

    The primary must be running (start() first)."""
    if replica_running_pid(settings):
        return
    port = settings.postgres_replica_port
    if port == settings.postgres_port or port_is_open("127.0.0.1", port):
        raise StackError(
            f"port {port} is already in use (or is the primary's). Stop that program, or set "
            "CATALOG_POSTGRES_REPLICA_PORT to a free port."
        )
    if not (_replica_data_dir(settings) / "standby.signal").exists():
        _basebackup(settings, say)
    _pg_ctl_start(
        _replica_data_dir(settings),
        port,
        replica_log_path(settings),
        replica_dir(settings) / "run",
        "-c hot_standby=on -c hot_standby_feedback=on",
    )


def stop_replica(settings: Settings) -> bool:
    return _pg_ctl_stop(_replica_data_dir(settings))


def delete_replica(settings: Settings) -> None:
    """Stop the replica and delete its files; the next start_replica clones the primary afresh."""
    stop_replica(settings)
    shutil.rmtree(replica_dir(settings), ignore_errors=True)
