"""Cold and warm `catalog stack up` times, on isolated ports and a scratch stack dir (the dev stack is untouched).

    .venv/bin/python bench/stack_up.py --runs 3

Cold: an empty stack dir (initdb, the OpenSearch launcher copied from Maven's cache, first start).
Warm: the same dir again after `stack down` (data and launcher in place). Prints each run and the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.api_process import free_port

CATALOG = Path(sys.executable).parent / "catalog"


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def one_round(env: dict[str, str]) -> tuple[float, float]:
    cold = timed([str(CATALOG), "stack", "up"], env)
    subprocess.run([str(CATALOG), "stack", "down"], env=env, check=True, capture_output=True)
    warm = timed([str(CATALOG), "stack", "up"], env)
    subprocess.run([str(CATALOG), "stack", "down"], env=env, check=True, capture_output=True)
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="cold+warm rounds, each in a fresh stack dir")
    args = parser.parse_args()
    colds, warms = [], []
    for run in range(1, args.runs + 1):
        stack_dir = Path(tempfile.mkdtemp(prefix="bench-stack-"))
        env = {**os.environ, "CATALOG_STACK_DIR": str(stack_dir), "CATALOG_POSTGRES_PORT": str(free_port()),
               "CATALOG_REDIS_PORT": str(free_port()), "CATALOG_OPENSEARCH_PORT": str(free_port()),
               "CATALOG_OPENSEARCH_TRANSPORT_PORT": str(free_port())}
        try:
            cold, warm = one_round(env)
        finally:
            subprocess.run([str(CATALOG), "stack", "clean"], env=env, check=False, capture_output=True)
        colds.append(cold)
        warms.append(warm)
        print(f"run {run}: cold {cold:.1f} s, warm {warm:.1f} s", flush=True)
    print(f"median of {args.runs}: cold {statistics.median(colds):.1f} s, warm {statistics.median(warms):.1f} s")


if __name__ == "__main__":
    main()
