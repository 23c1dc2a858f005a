"""Build, start, probe and stop a real OpenSearch 2.19 node for local development.

The node is not a distribution tarball: ``stack/opensearch/pom.xml`` pulls the
OpenSearch server jar and its standard modules (netty4 transport, analysis-common,
mapper-extras, painless, reindex, parent-join) from Maven Central, and
``catalog.opensearch.CatalogNode`` runs them in one JVM as classpath plugins.

Layout under a stack dir (e.g. ``.stack``)::

    opensearch/lib/            jars + launcher jar + .build-stamp   (build)
    opensearch/build/          Maven's target dir                    (build)
    opensearch/home/config/    log4j2.properties                     (start)
    opensearch/data/           path.data
    opensearch/tmp/            java.io.tmpdir
    logs/opensearch.log        the JVM's stdout/stderr (WARN and up, start line)
    logs/opensearch/           path.logs: the node's own INFO log, catalog-dev.log
    run/opensearch.pid         pid of the running JVM

A node of a cluster (``node=k``, see ``stack/opensearch_cluster.py``) shares ``lib/`` and keeps
the rest apart: ``opensearch/nodes/node-k/{home,data,tmp}``, ``logs/opensearch-node-k.log``,
``logs/opensearch-node-k/`` and ``run/opensearch-node-k.pid``.

Building the jars: ``stack/opensearch_build.py``. Typical use::

    lib = opensearch_build.build(project_root, stack_dir)
    pid = start(stack_dir, 9200, 9300, "1g", lib)
    wait_healthy(9200, 120, pid, stack_dir / "logs" / "opensearch.log")
    ...
    stop(stack_dir)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Final

from stack.processes import pid_alive

OPENSEARCH_VERSION: Final = "2.19.6"
LAUNCHER_CLASS: Final = "catalog.opensearch.CatalogNode"
LAUNCHER_JAR: Final = "opensearch-launcher.jar"

LOG4J2_PROPERTIES: Final = """\
# Written by stack/opensearch_node.py; rewritten on every start.
status = error

appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n
appender.console.filter.threshold.type = ThresholdFilter
appender.console.filter.threshold.level = warn

appender.rolling.type = RollingFile
appender.rolling.name = rolling
appender.rolling.fileName = ${sys:opensearch.logs.base_path}${sys:file.separator}\
${sys:opensearch.logs.cluster_name}.log
appender.rolling.filePattern = ${sys:opensearch.logs.base_path}${sys:file.separator}\
${sys:opensearch.logs.cluster_name}-%i.log.gz
appender.rolling.layout.type = PatternLayout
appender.rolling.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n
appender.rolling.policies.type = Policies
appender.rolling.policies.size.type = SizeBasedTriggeringPolicy
appender.rolling.policies.size.size = 32MB
appender.rolling.strategy.type = DefaultRolloverStrategy
appender.rolling.strategy.max = 3

rootLogger.level = info
rootLogger.appenderRef.console.ref = console
rootLogger.appenderRef.rolling.ref = rolling
"""

# Flags mirror the distribution's config/jvm.options where they matter for one node.
JVM_FLAGS: Final[tuple[str, ...]] = (
    "-XX:+UseG1GC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Dfile.encoding=UTF-8",
    # OpenSearch's date handling expects its own CalendarDataProvider (SPI) + COMPAT data.
    "-Djava.locale.providers=SPI,COMPAT",
    "-Djna.nosys=true",
    "-Dio.netty.noUnsafe=true",
    "-Dio.netty.noKeySetOptimization=true",
    "-Dio.netty.recycler.maxCapacityPerThread=0",
    "-Dio.netty.allocator.numDirectArenas=0",
    # The launcher's shutdown hook closes the node and then log4j; log4j must not go first.
    "-Dlog4j.shutdownHookEnabled=false",
    "-Dlog4j2.disable.jmx=true",
)


def _locate_java() -> str | None:
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("java")


JAVA_BIN: Final[str | None] = _locate_java()


def opensearch_dir(stack_dir: Path) -> Path:
    return stack_dir / "opensearch"


def _node_dir(stack_dir: Path, node: int | None) -> Path:
    """Home, data and tmp of the single node (None) or of cluster node ``node``."""
    base = opensearch_dir(stack_dir)
    return base if node is None else base / "nodes" / f"node-{node}"


def _node_label(node: int | None) -> str:
    return "opensearch" if node is None else f"opensearch-node-{node}"


def data_dir(stack_dir: Path, node: int | None = None) -> Path:
    return _node_dir(stack_dir.resolve(), node) / "data"


def _pid_file(stack_dir: Path, node: int | None = None) -> Path:
    return stack_dir / "run" / f"{_node_label(node)}.pid"


def log_file(stack_dir: Path, node: int | None = None) -> Path:
    """Where :func:`start` sends the JVM's stdout and stderr."""
    return stack_dir / "logs" / f"{_node_label(node)}.log"


def cluster_pid_files(stack_dir: Path) -> dict[int, Path]:
    """Pid files of cluster nodes under ``stack_dir``, by node number (whatever the node count is now)."""
    found: dict[int, Path] = {}
    for path in (stack_dir / "run").glob("opensearch-node-*.pid"):
        number = path.stem.removeprefix("opensearch-node-")
        if number.isdigit():
            found[int(number)] = path
    return dict(sorted(found.items()))


# ---------------------------------------------------------------------------
# process helpers

# Popen objects of nodes started by this process, so exits are reaped (no zombies) and
# seen at once; nodes started by another process are tracked through /proc.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _pid_alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    return pid_alive(pid)


def _is_our_java(pid: int) -> bool:
    """The process is a java running the launcher (guards against pid reuse)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    return Path(argv[0]).name == "java" and LAUNCHER_CLASS in argv


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _max_direct_memory(heap: str) -> str:
    """Half the heap, as OpenSearch's JvmErgonomics sets it."""
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", heap)
    if match is None:
        raise ValueError(f"heap must look like 512m or 1g, got {heap!r}")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match.group(2).lower()]
    return str(int(match.group(1)) * scale // 2)


def running_pid(stack_dir: Path, node: int | None = None) -> int | None:
    """The pid in the pid file if that process is alive and is java running the launcher."""
    try:
        pid = int(_pid_file(stack_dir, node).read_text().strip())
    except (OSError, ValueError):
        return None
    if pid <= 0 or not _pid_alive(pid) or not _is_our_java(pid):
        return None
    return pid


# ---------------------------------------------------------------------------
# start / health / stop


def start(
    stack_dir: Path,
    http_port: int,
    transport_port: int,
    heap: str,
    lib_dir: Path,
    node: int | None = None,
    node_settings: dict[str, str] | None = None,
) -> int:
    """Write the config and launch the node detached; returns its pid without waiting.

    ``node``: the number of a cluster node (its own files, see the module docstring), None for the
    single node. ``node_settings``: OpenSearch settings passed as ``-E`` flags, which override the
    launcher's (e.g. ``discovery.type``, ``discovery.seed_hosts``).
    """
    if JAVA_BIN is None:
        raise RuntimeError("no java found: set JAVA_HOME or put a Java 17+ `java` on PATH.")
    stack_dir = stack_dir.resolve()
    lib_dir = lib_dir.resolve()
    if not (lib_dir / LAUNCHER_JAR).is_file():
        raise RuntimeError(f"{lib_dir / LAUNCHER_JAR} is missing: run build() first.")
    existing = running_pid(stack_dir, node)
    if existing is not None:
        raise RuntimeError(f"{_node_label(node)} is already running (pid {existing}); stop it first.")
    for port in (http_port, transport_port):
        if _port_in_use(port):
            raise RuntimeError(f"port {port} on 127.0.0.1 is already in use; free it or pick another.")

    base = _node_dir(stack_dir, node)
    home = base / "home"
    data = data_dir(stack_dir, node)
    tmp = base / "tmp"
    node_logs = stack_dir / "logs" / _node_label(node)
    for directory in (home / "config", home / "plugins", home / "modules", data, tmp, node_logs):
        directory.mkdir(parents=True, exist_ok=True)
    (home / "config" / "log4j2.properties").write_text(LOG4J2_PROPERTIES)

    cmd = [
        JAVA_BIN,
        f"-Xms{heap}",
        f"-Xmx{heap}",
        f"-XX:MaxDirectMemorySize={_max_direct_memory(heap)}",
        *JVM_FLAGS,
        f"-Djava.io.tmpdir={tmp}",
        "-cp",
        f"{lib_dir}/*",
        LAUNCHER_CLASS,
        "--home",
        str(home),
        "--data",
        str(data),
        "--logs",
        str(node_logs),
        "--http-port",
        str(http_port),
        "--transport-port",
        str(transport_port),
        *(f"-E{key}={value}" for key, value in (node_settings or {}).items()),
    ]
    out = log_file(stack_dir, node)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as log:
        log.write(("$ " + " ".join(cmd) + "\n").encode())
        log.flush()
        child = subprocess.Popen(
            cmd,
            cwd=home,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _CHILDREN[child.pid] = child
    pid_file = _pid_file(stack_dir, node)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{child.pid}\n")
    return child.pid


def cluster_health(http_port: int) -> dict[str, object] | None:
    """``/_cluster/health`` of the node on 127.0.0.1 (None: no answer, or no cluster formed yet)."""
    url = f"http://127.0.0.1:{http_port}/_cluster/health"
    try:
        with urllib.request.urlopen(url, timeout=2.0) as response:
            body = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def is_healthy(http_port: int) -> bool:
    """True when ``/_cluster/health`` on 127.0.0.1 answers green or yellow."""
    body = cluster_health(http_port)
    return body is not None and body.get("status") in ("green", "yellow")


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log at {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def wait_healthy(http_port: int, timeout_s: float, pid: int, log_path: Path) -> None:
    """Poll until the node is healthy; raise RuntimeError (with the log tail) if it dies
    or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        if is_healthy(http_port):
            return
        if not _pid_alive(pid):
            child = _CHILDREN.get(pid)
            code = "" if child is None else f" with code {child.returncode}"
            raise RuntimeError(
                f"OpenSearch (pid {pid}) exited{code} before becoming healthy. "
                f"Last lines of {log_path}:\n{_log_tail(log_path)}"
            )
        if time.monotonic() >= deadline:
            raise RuntimeError(
                f"OpenSearch (pid {pid}) not healthy on port {http_port} after {timeout_s:.0f}s. "
                f"Last lines of {log_path}:\n{_log_tail(log_path)}"
            )
        time.sleep(0.5)


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def signal_stop(stack_dir: Path, node: int | None = None) -> None:
    """SIGTERM the node without waiting (to stop several at once; :func:`stop` then waits)."""
    pid = running_pid(stack_dir, node)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def stop(stack_dir: Path, timeout_s: float = 30, node: int | None = None) -> bool:
    """SIGTERM the node (SIGKILL after ``timeout_s``), remove the pid file.

    Returns whether a node was running.
    """
    pid = running_pid(stack_dir, node)
    pid_file = _pid_file(stack_dir, node)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    try:
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, timeout_s):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 10)
    except ProcessLookupError:
        pass
    _CHILDREN.pop(pid, None)
    pid_file.unlink(missing_ok=True)
    return True
