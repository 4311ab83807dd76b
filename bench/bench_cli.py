"""Benchmark: start-up of `jeju-play --help` and `jeju-play list` (target: median under 0.3 s), each beside
`ansible-playbook --version` (what any Ansible command costs to start) measured in the same run.

Run: .venv/bin/python bench/bench_cli.py [runs]. Times the installed scripts with subprocess (a warm page cache:
two runs first) and writes bench/results/bench_cli.json (bench/report.py puts it in docs/benchmarks.md).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from harness import Figure, save

BIN = Path(sys.executable).parent
SCRIPT = BIN / "jeju-play"
COMMANDS = [[str(SCRIPT), "--help"], [str(SCRIPT), "list"], [str(SCRIPT), "list", "--json"]]
BASELINE = [str(BIN / "ansible-playbook"), "--version"]


def time_command(argv: list[str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    time_command(BASELINE, 2)
    baseline = [s * 1000 for s in time_command(BASELINE, runs)]
    figures = []
    for argv in COMMANDS:
        time_command(argv, 2)  # warm the page cache
        samples = [s * 1000 for s in time_command(argv, runs)]
        name = " ".join(["jeju-play", *argv[1:]])
        figures.append(Figure("CLI start-up", name, "ms", samples, "ansible-playbook --version", baseline,
                              target="< 300 ms"))
        print(f"{name:<24} median {statistics.median(samples):6.0f} ms  (ansible-playbook --version "
              f"{statistics.median(baseline):.0f} ms; {runs} runs)")
    save("bench_cli", figures)


if __name__ == "__main__":
    main()
