"""Keeps the catalog's processes up: restart on unexpected exit with backoff, give up only on a crash loop.

The policy is systemd's `Restart=on-failure` with `RestartSec` doubling (1 s, 2 s, 4 s ... 30 s) and
`StartLimitBurst=5` / `StartLimitIntervalSec=60`: a process that exits on its own is started again after the
backoff while the others keep serving; five exits within 60 s mark it FATAL (logged loudly, never retried)
and the rest of the catalog keeps running. SIGINT/SIGTERM stop every process in the order given (each one's
whole process group: SIGTERM, then SIGKILL after a grace period).

Why not a package: supervisord backs off only while a program is still inside `startsecs` (a crash after that
restarts at once, forever) and counts restarts nowhere a client can read without its XML-RPC server; circus
and honcho either see little maintenance or do not restart at all. This is one loop over `subprocess.Popen`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

Say = Callable[[str], None]


class State(StrEnum):
    RUNNING = "running"
    BACKOFF = "backoff"  # exited unexpectedly; waiting to be started again
    FATAL = "fatal"  # crash loop: given up on
    STOPPED = "stopped"


@dataclass(frozen=True)
class RestartPolicy:
    first_delay_s: float = 1.0
    max_delay_s: float = 30.0
    crash_limit: int = 5
    crash_window_s: float = 60.0

    def delay(self, consecutive_crashes: int) -> float:
        """Seconds to wait before the start that follows the n-th crash in a row (n >= 1)."""
        return min(self.first_delay_s * 2.0 ** (consecutive_crashes - 1), self.max_delay_s)


@dataclass
class Program:
    """One supervised command. Its state is what `catalog status` shows."""

    name: str
    command: list[str]
    description: str = ""
    env: dict[str, str] = field(default_factory=dict)
    """Variables added to the supervisor's environment for this program only."""
    pass_fds: tuple[int, ...] = ()
    """Descriptors the program inherits (the API workers' shared listening socket)."""
    process: subprocess.Popen[bytes] | None = None
    state: State = State.STOPPED
    restarts: int = 0
    last_exit_code: int | None = None
    started_at: float = 0.0
    next_start_at: float = 0.0
    consecutive_crashes: int = 0
    crash_times: deque[float] = field(default_factory=deque)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process and self.state is State.RUNNING else None


class Supervisor:
    """Runs `programs` until asked to stop; `state_file` (JSON) is rewritten on every change of state."""

    def __init__(
        self,
        programs: list[Program],
        *,
        cwd: Path,
        env: Mapping[str, str],
        state_file: Path,
        say: Say,
        policy: RestartPolicy = RestartPolicy(),
        stop_grace_s: float = 20.0,
        poll_s: float = 0.2,
    ) -> None:
        self.programs = programs
        self.cwd = cwd
        self.env = dict(env)
        self.state_file = state_file
        self.say = say
        self.policy = policy
        self.stop_grace_s = stop_grace_s
        self.poll_s = poll_s
        self._stopping = False

    # --- life cycle -----------------------------------------------------------------------------------------

    def run(self) -> int:
        """Start everything, keep it up until SIGINT/SIGTERM; 0 after a clean stop, 1 if everything gave up."""
        previous = {sig: signal.signal(sig, self._request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for program in self.programs:
                self._start(program)
            while not self._stopping:
                self.tick(time.monotonic())
                if all(p.state is State.FATAL for p in self.programs):
                    self.say("every process gave up after repeated crashes; the catalog is down.")
                    return 1
                time.sleep(self.poll_s)
            return 0
        finally:
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _request_stop(self, _signum: int, _frame: object) -> None:
        self._stopping = True

    def tick(self, now: float) -> None:
        """One pass: notice exits, start the programs whose backoff has elapsed."""
        for program in self.programs:
            if program.state is State.RUNNING:
                assert program.process is not None
                code = program.process.poll()
                if code is not None:
                    self._exited(program, code, now)
            elif program.state is State.BACKOFF and now >= program.next_start_at:
                program.restarts += 1
                self._start(program)

    def _start(self, program: Program) -> None:
        try:
            program.process = subprocess.Popen(
                program.command,
                cwd=self.cwd,
                env={**self.env, **program.env},
                pass_fds=program.pass_fds,
                start_new_session=True,
            )
        except OSError as exc:  # e.g. the executable vanished: counts as a crash, so it backs off too
            self.say(f"{program.name}: could not start ({exc})")
            program.started_at = time.monotonic()
            self._exited(program, 127, program.started_at)
            return
        program.state = State.RUNNING
        program.started_at = time.monotonic()
        verb = "restarted" if program.restarts else "started"
        self.say(f"{program.name:<10} {verb} (pid {program.process.pid})  {program.description}".rstrip())
        self._write_state()

    def _exited(self, program: Program, code: int, now: float) -> None:
        self._kill_group(program, signal.SIGKILL)  # uvicorn/streamlit children must not keep the port
        program.last_exit_code = code
        if now - program.started_at >= self.policy.crash_window_s:
            program.consecutive_crashes = 0  # it had been up a while: start the backoff afresh
        program.consecutive_crashes += 1
        program.crash_times.append(now)
        while program.crash_times and now - program.crash_times[0] > self.policy.crash_window_s:
            program.crash_times.popleft()
        if len(program.crash_times) >= self.policy.crash_limit:
            program.state = State.FATAL
            self.say(
                f"FATAL: {program.name} exited {len(program.crash_times)} times within "
                f"{self.policy.crash_window_s:.0f} s (last exit code {code}); giving up on it. The other processes "
                f"keep running; see its output above, fix the cause and restart `catalog run`."
            )
        else:
            delay = self.policy.delay(program.consecutive_crashes)
            program.state = State.BACKOFF
            program.next_start_at = now + delay
            self.say(f"{program.name} exited unexpectedly with code {_describe(code)}; restarting in {delay:g} s")
        self._write_state()

    def stop_all(self) -> None:
        """SIGTERM each running program in order and wait for it (SIGKILL after the grace period)."""
        for program in self.programs:
            if program.state is State.RUNNING and program.process and program.process.poll() is None:
                self._kill_group(program, signal.SIGTERM)
                try:
                    program.process.wait(timeout=self.stop_grace_s)
                except subprocess.TimeoutExpired:
                    self._kill_group(program, signal.SIGKILL)
                    program.process.wait()
                self.say(f"{program.name} stopped")
            if program.state is not State.FATAL:
                program.state = State.STOPPED
        self._write_state()

    @staticmethod
    def _kill_group(program: Program, sig: int) -> None:
        if program.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(program.process.pid, sig)

    # --- the state file `catalog status` reads ---------------------------------------------------------------

    def _write_state(self) -> None:
        wall_offset = time.time() - time.monotonic()
        snapshot = {
            "supervisor_pid": os.getpid(),
            "programs": [
                {
                    "name": p.name,
                    "state": p.state.value,
                    "pid": p.pid,
                    "restarts": p.restarts,
                    "last_exit_code": p.last_exit_code,
                    "since": round(p.started_at + wall_offset, 3) if p.started_at else None,
                }
                for p in self.programs
            ],
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(snapshot, indent=2))
        temporary.replace(self.state_file)


def read_state(state_file: Path) -> dict[str, object] | None:
    """The last state a live supervisor wrote, or None when no supervisor is running."""
    try:
        snapshot = json.loads(state_file.read_text())
        os.kill(int(snapshot["supervisor_pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return dict(snapshot)


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            return str(code)
    return str(code)
