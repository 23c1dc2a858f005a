"""Build the local OpenSearch node's classpath: ``stack/opensearch/pom.xml`` resolves the OpenSearch server jar
and its standard modules from Maven Central, and Maven compiles the launcher (``stack/opensearch/src``) into
``<stack>/opensearch/lib``. A stamp (``.build-stamp``: the sources' hash and the jar set) skips the build while
nothing changed. Starting and stopping nodes: ``stack/opensearch_node.py``."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from stack.opensearch_node import LAUNCHER_JAR, OPENSEARCH_VERSION, cluster_pid_files, opensearch_dir, running_pid

STAMP_FILE: Final = ".build-stamp"

# Relative to the project root.
POM_PATH: Final = Path("stack/opensearch/pom.xml")
SOURCE_DIR: Final = Path("stack/opensearch/src")


def _source_hash(project_root: Path) -> str:
    digest = hashlib.sha256()
    files = [project_root / POM_PATH]
    files += sorted(p for p in (project_root / SOURCE_DIR).rglob("*") if p.is_file())
    for path in files:
        digest.update(str(path.relative_to(project_root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _lib_is_current(lib_dir: Path, source_hash: str) -> bool:
    try:
        stamp = json.loads((lib_dir / STAMP_FILE).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(stamp, dict) or stamp.get("hash") != source_hash:
        return False
    jars = stamp.get("jars")
    if not isinstance(jars, list) or LAUNCHER_JAR not in jars:
        return False
    present = {p.name for p in lib_dir.glob("*.jar")}
    return present == set(jars)


def build(project_root: Path, stack_dir: Path, progress: Callable[[str], None] = print) -> Path:
    """Resolve the OpenSearch jars and compile the launcher into ``<stack>/opensearch/lib``.

    Skipped when the lib dir's stamp matches the current pom.xml and Java sources and
    the jar set is intact. Returns the lib dir.
    """
    project_root = project_root.resolve()
    stack_dir = stack_dir.resolve()
    lib_dir = opensearch_dir(stack_dir) / "lib"
    source_hash = _source_hash(project_root)
    if _lib_is_current(lib_dir, source_hash):
        return lib_dir

    nodes: list[int | None] = [None, *cluster_pid_files(stack_dir)]
    running = next((pid for node in nodes if (pid := running_pid(stack_dir, node)) is not None), None)
    if running is not None:
        raise RuntimeError(
            f"the OpenSearch launcher sources changed but a node (pid {running}) is running from "
            f"{lib_dir}: stop it first, then start again to rebuild."
        )
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("Maven (mvn) is not on PATH: install it, e.g. `apt-get install maven`.")
    build_dir = opensearch_dir(stack_dir) / "build"
    # A stale jar of another version on a `lib/*` classpath breaks the node: start clean.
    if lib_dir.exists():
        shutil.rmtree(lib_dir)
    lib_dir.mkdir(parents=True)
    progress(
        f"building OpenSearch {OPENSEARCH_VERSION} launcher with Maven "
        "(the first build downloads about 50 MB from Maven Central)..."
    )
    started = time.monotonic()
    cmd = [
        mvn,
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(project_root / POM_PATH),
        f"-Dlauncher.build.dir={build_dir}",
        f"-DoutputDirectory={lib_dir}",
        "-DincludeScope=runtime",
        "package",
        "dependency:copy-dependencies",
    ]
    result = subprocess.run(
        cmd,
        cwd=project_root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-40:])
        raise RuntimeError(
            f"Maven build of the OpenSearch launcher failed (exit {result.returncode}).\n"
            f"command: {' '.join(cmd)}\n"
            "Fix what the output below names (network access to Maven Central, a Java 17+ "
            "JDK for mvn, a compile error in stack/opensearch/src), then start again.\n"
            f"--- mvn output (tail) ---\n{tail}"
        )
    launcher = build_dir / LAUNCHER_JAR
    if not launcher.is_file():
        raise RuntimeError(f"Maven succeeded but {launcher} is missing; check stack/opensearch/pom.xml.")
    shutil.copy2(launcher, lib_dir / LAUNCHER_JAR)
    jars = sorted(p.name for p in lib_dir.glob("*.jar"))
    (lib_dir / STAMP_FILE).write_text(json.dumps({"hash": source_hash, "jars": jars}, indent=1))
    progress(f"built OpenSearch launcher: {len(jars)} jars in {time.monotonic() - started:.0f}s")
    return lib_dir
