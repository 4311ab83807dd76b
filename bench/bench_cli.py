"""Benchmark: start-up of `jeju-play --help` and `jeju-play list` (target: median under 0.3 s).

Run: .venv/bin/python bench/bench_cli.py [runs]. Uses hyperfine when it is installed, else times the
installed script with subprocess. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "jeju-play"
COMMANDS = [[str(SCRIPT), "--help"], [str(SCRIPT), "list"], [str(SCRIPT), "list", "--json"]]


def time_command(argv: list[str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    if shutil.which("hyperfine"):
        subprocess.run(["hyperfine", "--warmup", "3", "--runs", str(runs),
                        *[" ".join(c) for c in COMMANDS]], check=True)
        return
    for argv in COMMANDS:
        time_command(argv, 2)  # warm the page cache
        samples = sorted(time_command(argv, runs))
        p95 = samples[int(0.95 * (len(samples) - 1))]
        print(f"{' '.join(Path(a).name for a in argv):<24} median {statistics.median(samples) * 1000:6.0f} ms"
              f"  p95 {p95 * 1000:6.0f} ms  ({runs} runs)")


if __name__ == "__main__":
    main()
