"""A fleet of Jejus: `jeju-play lab up --count N` and one incident across all of them, for N = 1, 4, 8.

    .venv/bin/python bench/bench_fleet.py [N ...] [--incident daily-checks]

For each N, in a private project copy: times `lab up --count N` to every member healthy, waits until each has
proposed; measures each member's RSS (its supervisor, two anvils, Prometheus and Alertmanager, from /proc) and its
CPU over 10 s idle; then times `jeju-play INCIDENT -i lab-fleet --yes` (every member's run at once) and reads each
run's own length from its record; then `lab down`. Prints a table and writes bench/results/bench_fleet.json. Loopback
only; everything it starts is stopped by `lab down`.

The issue's target: 8 environments in under 3x the wall time of one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support: a private lab project
from bench_lab import cpu_seconds, rss_mib  # bench/ is the script's own folder
from harness import Figure, save

from tests.support import fleet_member_pids, fleet_steady, lab_env, make_lab_project, recorded_runs, run_cli

IDLE_SECONDS = 10.0


def one(count: int, incident: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="jeju-fleet-bench-") as folder:
        project = make_lab_project(Path(folder) / "project")
        env = lab_env(project)
        try:
            started = time.perf_counter()
            up = run_cli("lab", "up", "--count", str(count), env_extra=env, timeout=900)
            up_s = time.perf_counter() - started
            if up.returncode != 0:
                raise SystemExit(f"lab up --count {count} failed:\n{up.stdout}{up.stderr}")
            names = [f"local-{k}" for k in range(1, count + 1)]
            fleet_steady(project, names, limit=300)
            pids = {name: fleet_member_pids(project, name) for name in names}
            before = {pid: cpu_seconds(pid) for group in pids.values() for pid in group}
            time.sleep(IDLE_SECONDS)  # a measurement window, not a wait for a condition
            cpu = [sum(cpu_seconds(p) - before[p] for p in group) / IDLE_SECONDS * 100 for group in pids.values()]
            rss = [sum(rss_mib(p) for p in group) for group in pids.values()]
            started = time.perf_counter()
            done = run_cli(incident, "-i", "lab-fleet", "--yes", env_extra=env, timeout=1800)
            run_s = time.perf_counter() - started
            runs = [json.loads((r / "summary.json").read_text()) for r in recorded_runs(project / "runs")]
            if len(runs) != count:
                raise SystemExit(f"{incident} -i lab-fleet (N={count}) exit {done.returncode}, {len(runs)} records:\n"
                                 f"{done.stdout}{done.stderr}")
            if done.returncode != 0:  # a figure still: what the machine gave each run is the finding
                print(done.stdout, file=sys.stderr)
            lengths = [(datetime.fromisoformat(r["ended"]) - datetime.fromisoformat(r["started"])).total_seconds()
                       for r in runs]
        finally:
            run_cli("lab", "down", env_extra=env, timeout=300)
    return {"count": count, "up_s": round(up_s, 1), "run_wall_s": round(run_s, 1), "exit_code": done.returncode,
            "verified": sum(r.get("outcome") == "verified" for r in runs),
            "run_median_s": round(statistics.median(lengths), 1),
            "rss_mib_per_jeju": round(statistics.mean(rss), 0), "idle_cpu_percent_per_jeju": round(
                statistics.mean(cpu), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("counts", nargs="*", type=int, default=[1, 4, 8])
    parser.add_argument("--incident", default="daily-checks")
    args = parser.parse_args()
    rows = [one(count, args.incident) for count in args.counts]
    base = next((r["run_wall_s"] for r in rows if r["count"] == 1), None)
    print(f"{'N':>3} {'up (s)':>7} {'run wall (s)':>13} {'x N=1':>6} {'verified':>9} {'RSS/Jeju':>10}"
          f" {'idle CPU/Jeju':>14}")
    for r in rows:
        ratio = f"{r['run_wall_s'] / base:.2f}" if base else "-"
        print(f"{r['count']:>3} {r['up_s']:>7.1f} {r['run_wall_s']:>13.1f} {ratio:>6}"
              f" {r['verified']:>5}/{r['count']:<3} {r['rss_mib_per_jeju']:>6.0f} MiB"
              f" {r['idle_cpu_percent_per_jeju']:>12.1f} %")
    one_wall = [base] if base else []
    figures = []
    for r in rows:
        n = f"N={r['count']}"
        figures += [
            Figure("Fleet: lab up --count N", n, "s", [r["up_s"]]),
            Figure(f"Fleet: {args.incident} across N", n, "s", [r["run_wall_s"]], "N=1", one_wall,
                   target="N=8 < 3x N=1" if r["count"] == 8 else "",
                   note=f"{r['verified']} of {r['count']} verified"),
            Figure("Fleet: RSS per Jeju", n, "MiB", [r["rss_mib_per_jeju"]]),
            Figure("Fleet: idle CPU per Jeju", n, "% of a core", [r["idle_cpu_percent_per_jeju"]]),
        ]
    save("bench_fleet", figures)


if __name__ == "__main__":
    main()
