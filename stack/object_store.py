"""A project-local S3 server for product media: versitygw (Apache-2.0) over a directory under `.stack/objects`.

Built once from source with the Go toolchain (`go install .../versitygw@v1.8.0` into `.stack/bin`), bound to
127.0.0.1 on the port of `CATALOG_S3_ENDPOINT_URL`, with the root keys from `CATALOG_S3_ACCESS_KEY/SECRET_KEY`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from catalog.settings import PROJECT_ROOT, Settings
from media.store import s3_client
from stack.processes import Say, StackError, port_is_open, read_pid, tail, terminate

VERSITYGW_MODULE = "github.com/versity/versitygw/cmd/versitygw"
VERSITYGW_VERSION = "v1.8.0"
GO_CANDIDATES = ("go", "/usr/local/go/bin/go", "/usr/lib/go/bin/go")


def binary_path(settings: Settings) -> Path:
    """Built once per checkout (not per stack dir: scratch stacks in tests reuse it)."""
    return PROJECT_ROOT / ".stack" / "bin" / "versitygw"


def _port(settings: Settings) -> int:
    port = settings.s3_local_port
    if port is None:
        raise StackError(f"CATALOG_S3_ENDPOINT_URL={settings.s3_endpoint_url} is not a local server to run.")
    return port


def _pid_file(settings: Settings) -> Path:
    return settings.stack_dir / "run" / f"object-store-{_port(settings)}.pid"


def data_dir(settings: Settings) -> Path:
    """The gateway's root: each bucket is a directory below it, each object a file."""
    return settings.stack_dir / "objects" / str(_port(settings))


def log_path(settings: Settings) -> Path:
    return settings.stack_dir / "logs" / f"object-store-{settings.s3_local_port or 'remote'}.log"


def _go() -> str:
    for candidate in GO_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise StackError(
        "the Go toolchain is needed once to build the object store (versitygw): install Go 1.22+ "
        "(https://go.dev/dl or `apt-get install golang`), or point CATALOG_S3_ENDPOINT_URL at an S3 server you run."
    )


def install(settings: Settings, say: Say) -> Path:
    """Build versitygw into `.stack/bin` unless it is there already; returns the binary."""
    binary = binary_path(settings)
    if binary.is_file():
        return binary
    go = _go()
    binary.parent.mkdir(parents=True, exist_ok=True)
    say(f"object store: building versitygw {VERSITYGW_VERSION} with {go} (once; a minute or two) ...")
    started = time.monotonic()
    env = {**os.environ, "GOBIN": str(binary.parent.resolve()), "GOFLAGS": "-mod=mod"}
    process = subprocess.Popen(
        [go, "install", f"{VERSITYGW_MODULE}@{VERSITYGW_VERSION}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    for line in process.stdout:  # `go: downloading <module>` lines are the progress
        output.append(line.rstrip())
        if line.startswith("go: downloading"):
            say(f"object store: {line.strip()[4:]}")
    if process.wait() != 0 or not binary.is_file():
        raise StackError("building versitygw failed:\n" + "\n".join(output[-30:]))
    say(f"object store: built {binary} in {time.monotonic() - started:.0f}s")
    return binary


def running_pid(settings: Settings) -> int | None:
    if settings.s3_local_port is None:
        return None
    return read_pid(_pid_file(settings))


def client(settings: Settings, timeout_s: float = 2.0) -> Any:
    """A quick-failing S3 client for health checks and the bucket."""
    return s3_client(settings, settings.s3_endpoint_url, timeout_s=timeout_s, attempts=1)


def is_healthy(settings: Settings) -> bool:
    """The server answers a signed request with these keys (ListBuckets)."""
    try:
        client(settings).list_buckets()
    except (BotoCoreError, ClientError):
        return False
    return True


def ensure_bucket(settings: Settings) -> None:
    """Create the media bucket unless it exists (idempotent)."""
    s3 = client(settings, timeout_s=5.0)
    try:
        s3.head_bucket(Bucket=settings.s3_bucket)
    except ClientError:
        try:
            s3.create_bucket(Bucket=settings.s3_bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise


def start(settings: Settings, say: Say) -> None:
    """Start the gateway detached (never a second copy) and wait until it answers with our keys."""
    if running_pid(settings):
        return
    port = _port(settings)
    if port_is_open("127.0.0.1", port):
        raise StackError(
            f"port {port} is already in use by another program. Stop it, or set CATALOG_S3_ENDPOINT_URL to "
            "http://127.0.0.1:<free port> (or CATALOG_STACK_MANAGED=false to use that server)."
        )
    binary = install(settings, say)
    for folder in (data_dir(settings), _pid_file(settings).parent, log_path(settings).parent):
        folder.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "ROOT_ACCESS_KEY": settings.s3_access_key,
        "ROOT_SECRET_KEY": settings.s3_secret_key,
        "VGW_REGION": settings.s3_region,
    }
    with log_path(settings).open("ab") as log:
        child = subprocess.Popen(
            [str(binary), "--port", f"127.0.0.1:{port}", "--quiet", "posix", str(data_dir(settings).resolve())],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _pid_file(settings).write_text(f"{child.pid}\n")
    deadline = time.monotonic() + 20
    while not is_healthy(settings):
        if child.poll() is not None or time.monotonic() > deadline:
            raise StackError(f"the object store did not answer within 20 s:\n{tail(log_path(settings))}")
        time.sleep(0.1)
    ensure_bucket(settings)


def stop(settings: Settings) -> bool:
    pid = running_pid(settings)
    if not pid:
        return False
    terminate(pid, timeout_s=10)
    _pid_file(settings).unlink(missing_ok=True)
    return True
