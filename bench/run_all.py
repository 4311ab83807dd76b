"""`make bench`: every benchmark under bench/, one after the other (each starts and stops its own labs), then
bench/report.py writes docs/benchmarks.md's generated part and docs/benchmarks.png.

Run: .venv/bin/python bench/run_all.py [NAME ...]   (default: all; a name is a script's, e.g. bench_cli).
BENCH_QUICK=1 runs fewer repeats (a check that every script works, not figures to keep). About 25 minutes on 2
cores in full, the fleet's N=8 most of it. A benchmark that fails is reported and the others still run; the exit
code is then 1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
QUICK = os.environ.get("BENCH_QUICK") == "1"
# Each script with its arguments: full, then quick.
PLAN: dict[str, tuple[list[str], list[str]]] = {
    "bench_cli": (["20"], ["3"]),
    "bench_kube": (["200"], ["20"]),
    "bench_lab": (["3", "100"], ["1", "10"]),
    "bench_modules": ([], []),
    "bench_serve": (["200"], ["10"]),
    "bench_diagnose": (["3"], ["1", "network-down", "daily-checks"]),
    "bench_drills": (["l1-rpc-down", "reth-scaled-to-zero", "batcher-unfunded", "proposer-unfunded",
                      "disk-full", "errors-elevated"], ["l1-rpc-down"]),
    "bench_fleet": (["1", "4", "8"], ["1", "2"]),
}


def main() -> int:
    chosen = sys.argv[1:] or list(PLAN)
    unknown = [name for name in chosen if name not in PLAN]
    if unknown:
        print(f"Unknown benchmark {', '.join(unknown)}: choose from {', '.join(PLAN)}.", file=sys.stderr)
        return 2
    failed = []
    for name in chosen:
        args = PLAN[name][1 if QUICK else 0]
        print(f"== {name} {' '.join(args)}", flush=True)
        started = time.monotonic()
        done = subprocess.run([sys.executable, str(BENCH / f"{name}.py"), *args], check=False)
        print(f"== {name}: exit {done.returncode} in {time.monotonic() - started:.0f} s", flush=True)
        if done.returncode != 0:
            failed.append(name)
    report = subprocess.run([sys.executable, str(BENCH / "report.py")], check=False)
    if failed:
        print(f"Failed: {', '.join(failed)} (their old results, if any, are in the report).", file=sys.stderr)
    return 1 if failed or report.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
