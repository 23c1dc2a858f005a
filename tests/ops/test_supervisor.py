"""The supervisor against real processes: restart with doubling backoff, give-up on a crash loop, orderly stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from catalog.settings import PROJECT_ROOT
from catalog.supervisor import Program, RestartPolicy, State, Supervisor, read_state
from stack.processes import pid_alive

FAST = RestartPolicy(first_delay_s=0.2, max_delay_s=0.8, crash_limit=5, crash_window_s=30.0)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def crasher(exit_code: int = 3, after_s: float = 0.1) -> list[str]:
    return python(f"import sys, time; time.sleep({after_s}); sys.exit({exit_code})")


def sleeper() -> list[str]:
    return python("import time; time.sleep(120)")


def supervisor(programs: list[Program], tmp_path: Path, messages: list[str]) -> Supervisor:
    return Supervisor(programs, cwd=PROJECT_ROOT, env=dict(os.environ), state_file=tmp_path / "state.json",
                      say=messages.append, policy=FAST, stop_grace_s=5)


def tick_until(sup: Supervisor, done: Callable[[], bool], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "the supervisor did not get there in time"
        sup.tick(time.monotonic())
        time.sleep(0.02)


def run_until(sup: Supervisor, done: Callable[[], bool], timeout_s: float = 30) -> None:
    for program in sup.programs:
        sup._start(program)
    tick_until(sup, done, timeout_s)


def test_a_crashing_process_is_restarted_with_doubling_backoff_while_the_others_keep_running(tmp_path: Path) -> None:
    messages: list[str] = []
    crashing = Program("crashing", crasher(exit_code=3))
    steady = Program("steady", sleeper())
    sup = supervisor([crashing, steady], tmp_path, messages)
    try:
        run_until(sup, lambda: crashing.restarts >= 3)
        steady_pid = steady.pid
        assert steady_pid is not None and pid_alive(steady_pid)
        backoffs = [m for m in messages if m.startswith("crashing exited unexpectedly")]
        expected = [f"crashing exited unexpectedly with code 3; restarting in {d} s" for d in (0.2, 0.4, 0.8)]
        assert backoffs[:3] == expected
        assert [FAST.delay(n) for n in (1, 2, 3, 4)] == [0.2, 0.4, 0.8, 0.8]  # doubling, capped
        state = json.loads((tmp_path / "state.json").read_text())
        by_name = {p["name"]: p for p in state["programs"]}
        assert by_name["crashing"]["restarts"] >= 3 and by_name["crashing"]["last_exit_code"] == 3
        assert by_name["steady"] == {**by_name["steady"], "state": "running", "pid": steady_pid, "restarts": 0}
    finally:
        sup.stop_all()


def test_the_backoff_waits_before_each_restart(tmp_path: Path) -> None:
    messages: list[str] = []
    crashing = Program("crashing", crasher(after_s=0.0))
    sup = supervisor([crashing], tmp_path, messages)
    starts: list[float] = []
    exits: list[float] = []
    original_start, original_exited = sup._start, sup._exited

    def start(program: Program) -> None:
        starts.append(time.monotonic())
        original_start(program)

    def exited(program: Program, code: int, now: float) -> None:
        exits.append(now)
        original_exited(program, code, now)

    sup._start, sup._exited = start, exited  # type: ignore[method-assign]
    try:
        run_until(sup, lambda: crashing.restarts >= 3)
    finally:
        sup.stop_all()
    for n, (exit_at, next_start) in enumerate(zip(exits, starts[1:], strict=False), start=1):
        assert next_start - exit_at >= FAST.delay(n), f"restart {n} came before its backoff"


def test_a_crash_loop_gives_up_on_that_process_only_loudly(tmp_path: Path) -> None:
    messages: list[str] = []
    crashing = Program("crashing", crasher(exit_code=7))
    steady = Program("steady", sleeper())
    sup = supervisor([crashing, steady], tmp_path, messages)
    try:
        run_until(sup, lambda: crashing.state is State.FATAL)
        restarts = crashing.restarts
        for _ in range(20):  # it stays given up
            sup.tick(time.monotonic())
            time.sleep(0.05)
        assert crashing.state is State.FATAL and crashing.restarts == restarts == FAST.crash_limit - 1
        assert steady.state is State.RUNNING and steady.pid is not None and pid_alive(steady.pid)
        fatal = [m for m in messages if m.startswith("FATAL: crashing")]
        assert len(fatal) == 1 and "5 times within 30 s" in fatal[0] and "last exit code 7" in fatal[0]
        state = json.loads((tmp_path / "state.json").read_text())
        assert {p["name"]: p["state"] for p in state["programs"]} == {"crashing": "fatal", "steady": "running"}
    finally:
        sup.stop_all()


def test_a_process_killed_by_a_signal_is_restarted_and_its_children_do_not_linger(tmp_path: Path) -> None:
    messages: list[str] = []
    # A parent that starts a child in its own process group, as uvicorn and streamlit do.
    child_pid_file = tmp_path / "child.pid"
    parent = Program("parent", python(f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        open({str(child_pid_file)!r}, "w").write(str(child.pid))
        time.sleep(120)
    """))
    sup = supervisor([parent], tmp_path, messages)
    try:
        run_until(sup, lambda: child_pid_file.exists() and child_pid_file.read_text() != "")
        first_pid, child_pid = parent.pid, int(child_pid_file.read_text())
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        tick_until(sup, lambda: parent.restarts > 0, timeout_s=10)
        assert parent.pid not in (None, first_pid)
        assert any("exited unexpectedly with code -9 (SIGKILL)" in m for m in messages)
        deadline = time.monotonic() + 5
        while pid_alive(child_pid):
            assert time.monotonic() < deadline, "the killed program's child kept running"
            time.sleep(0.05)
    finally:
        sup.stop_all()


def test_sigterm_stops_every_process_in_order_and_exits_cleanly(tmp_path: Path) -> None:
    order_file = tmp_path / "order"
    script = tmp_path / "supervise.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys
        from pathlib import Path
        from catalog.supervisor import Program, Supervisor

        def graceful(name):
            return [sys.executable, "-c",
                    "import signal, sys, time\\n"
                    "def stop(*_):\\n"
                    f"    time.sleep(0.3); open({str(order_file)!r}, 'a').write('{{name}}\\\\n'); sys.exit(0)\\n"
                    "signal.signal(signal.SIGTERM, stop)\\n"
                    "print('ready', flush=True)\\n"
                    "time.sleep(120)\\n"]

        programs = [Program(name, graceful(name)) for name in ("first", "second", "third")]
        sys.exit(Supervisor(programs, cwd=Path.cwd(), env=dict(os.environ), state_file=Path({str(tmp_path)!r}) /
                            "state.json", say=print).run())
    """))
    process = subprocess.Popen([sys.executable, str(script)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    deadline = time.monotonic() + 20
    while (state := read_state(tmp_path / "state.json")) is None or not all(
            p["state"] == "running" for p in state["programs"]):  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # let the children install their SIGTERM handlers
    pids = [p["pid"] for p in state["programs"]]  # type: ignore[union-attr]
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert order_file.read_text().split() == ["first", "second", "third"]
    assert not any(pid_alive(pid) for pid in pids)
    assert "first stopped" in output and "third stopped" in output
    assert read_state(tmp_path / "state.json") is None  # the supervisor is gone
