"""Peak memory of the processes a benchmark run starts: every 0.25 s, the VmHWM of each API, indexer and
dashboard process that is a child of this one, read from /proc."""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path


def process_role(cmdline: str) -> str | None:
    if "uvicorn" in cmdline and "api.app" in cmdline:
        return "API (uvicorn)"
    if "indexer run" in cmdline:  # `python -m catalog.cli indexer run` (and `catalog indexer run`)
        return "indexer"
    if "streamlit" in cmdline and " run " in cmdline:
        return "dashboard (streamlit)"
    return None


@dataclass
class ProcessPeak:
    scale: str
    role: str
    scenarios: list[str] = field(default_factory=list)
    mib: float = 0.0


class MemorySampler(threading.Thread):
    """Every 0.25 s, the VmHWM (peak RSS) of each API/indexer/dashboard process this process started."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.scale = self.scenario = "setup"
        self.processes: dict[int, ProcessPeak] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.25):
            self.sample()

    def sample(self) -> None:
        me = os.getpid()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) != me:
                    continue
                role = process_role((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
                if role is None:
                    continue
                status = (entry / "status").read_text()
            except (OSError, IndexError, ValueError):
                continue
            found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
            if found:
                peak = self.processes.setdefault(int(entry.name), ProcessPeak(self.scale, role))
                peak.mib = max(peak.mib, int(found.group(1)) / 1024)
                if self.scenario not in peak.scenarios:
                    peak.scenarios.append(self.scenario)
