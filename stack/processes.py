"""Small process helpers shared by the service launchers: pid files, port checks, Debian installs."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

Say = Callable[[str], None]
"""Progress printer: launchers report what they are doing through it."""


class StackError(RuntimeError):
    """A service could not be installed or started; the message names the fix."""


def port_is_open(host: str, port: int, timeout_s: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as dead. Field 3, after the command name, is the state.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid_alive(pid) else None


def terminate(pid: int, timeout_s: float, sig: int = signal.SIGTERM) -> None:
    """Ask a process to stop, escalating to SIGKILL after `timeout_s`."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def stop_child(process: subprocess.Popen[bytes], timeout_s: float, sig: int = signal.SIGTERM) -> None:
    """Stop a child this process started: `sig`, then SIGKILL if it is still running after `timeout_s`."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def ensure_debian_packages(binaries: dict[str, str], packages: list[str], say: Say) -> None:
    """Install Debian packages when any of `binaries` (name -> path) is missing."""
    missing = [name for name, path in binaries.items() if not Path(path).exists() and not shutil.which(name)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise StackError(
            f"{', '.join(missing)} not found. Install them with: sudo apt-get install -y {' '.join(packages)}"
        )
    say(f"installing {' '.join(packages)} with apt-get (missing: {', '.join(missing)}) ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *packages]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StackError(
                f"`{' '.join(command)}` failed (exit {result.returncode}):\n{result.stderr[-2000:]}\n"
                "Fix the package source or install the packages by hand, then rerun."
            )
