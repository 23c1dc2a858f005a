"""A project-local Redis from Debian's package, bound to 127.0.0.1 with its files under `.stack/redis`."""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

import redis

from catalog.settings import Settings
from stack.processes import Say, StackError, ensure_debian_packages, port_is_open, read_pid, tail

REDIS_SERVER = "/usr/bin/redis-server"


def _pid_file(settings: Settings) -> Path:
    return settings.stack_dir / "run" / "redis.pid"


def data_dir(settings: Settings) -> Path:
    return settings.stack_dir / "redis"


def log_path(settings: Settings) -> Path:
    return settings.stack_dir / "logs" / "redis.log"


def install(say: Say) -> None:
    ensure_debian_packages({"redis-server": REDIS_SERVER}, ["redis-server"], say)


def running_pid(settings: Settings) -> int | None:
    return read_pid(_pid_file(settings))


def is_healthy(settings: Settings) -> bool:
    try:
        client = redis.Redis(host=settings.redis_host, port=settings.redis_port, socket_timeout=1)
        return bool(client.ping())
    except redis.RedisError:
        return False


def start(settings: Settings, say: Say) -> None:
    if running_pid(settings):
        return
    if port_is_open("127.0.0.1", settings.redis_port):
        raise StackError(
            f"port {settings.redis_port} is already in use by another program. Stop it, or set "
            "CATALOG_REDIS_PORT to a free port (or CATALOG_STACK_MANAGED=false to use that server)."
        )
    data = data_dir(settings)
    for folder in (data, _pid_file(settings).parent, log_path(settings).parent):
        folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            REDIS_SERVER,
            "--bind",
            "127.0.0.1",
            "--port",
            str(settings.redis_port),
            "--dir",
            str(data),
            "--daemonize",
            "yes",
            "--pidfile",
            str(_pid_file(settings)),
            "--logfile",
            str(log_path(settings)),
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory",
            "512mb",
            "--maxmemory-policy",
            "allkeys-lru",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(f"Redis failed to start:\n{result.stderr}\n{tail(log_path(settings))}")
    deadline = time.monotonic() + 15
    while not is_healthy(settings):
        if time.monotonic() > deadline:
            raise StackError(f"Redis did not answer PING within 15 s:\n{tail(log_path(settings))}")
        time.sleep(0.1)


def stop(settings: Settings) -> bool:
    pid = running_pid(settings)
    if not pid:
        return False
    # shutdown closes the connection under us; the pid check below is what counts
    with contextlib.suppress(redis.RedisError):
        redis.Redis(host=settings.redis_host, port=settings.redis_port, socket_timeout=2).shutdown(nosave=True)
    deadline = time.monotonic() + 15
    while running_pid(settings) and time.monotonic() < deadline:
        time.sleep(0.1)
    return True
