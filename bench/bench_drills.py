"""Benchmark: `jeju-play drill INCIDENT --fault F`, each drill's time split into waiting for the lab and the tool's
own time.

Run: .venv/bin/python bench/bench_drills.py [FAULT ... | --all]   (default: every fault of the incidents automated
last: rpc-down, data-corruption, sequencer-restarts, bridge-stalled, elevated-errors; --all: every lab fault).
Each drill runs in a private project copy (its own lab, stopped at the end); the incident is the fault's own
(jeju_lab.faults.FAULTS). Prints a Markdown table and writes bench/results/bench_drills.json (bench/report.py).

Waiting for the lab: the drill's `lab up` and fault settle, the tasks inside the playbook that wait on the lab
(their names start with "Wait": a rollout, new blocks, a deposit reaching L2, an observation window) and the
drill's own recovery check. The plan (the drill's `--check` run first) is its own column, with whether its cause
is the cause the real run acted on. The tool's own time is the rest of the wall time: Python and Ansible start-up,
module runs, reads, the record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import Figure, save  # noqa: E402

from jeju_lab.control import Lab  # noqa: E402
from jeju_lab.faults import FAULTS  # noqa: E402
from tests.support import lab_env, make_lab_project  # noqa: E402

NEWEST = ("rpc-down", "data-corruption", "sequencer-restarts", "bridge-stalled", "elevated-errors")


def _lab_waits(record: Path) -> float:
    events = [json.loads(line) for line in (record / "events.jsonl").read_text().splitlines()]
    return sum(e.get("duration") or 0 for e in events
               if e.get("event") == "runner_on_ok" and str(e.get("task", "")).startswith("Wait"))


def drill(fault: str, figures: list[Figure]) -> str:
    incident = FAULTS[fault].incident
    with tempfile.TemporaryDirectory() as base:
        env = lab_env(make_lab_project(Path(base) / "project"))
        saved = dict(os.environ)
        start = time.monotonic()
        try:
            done = subprocess.run([str(Path(sys.executable).parent / "jeju-play"), "drill", incident,
                                   "--fault", fault, "--json"], capture_output=True, text=True,
                                  env={**os.environ, **env}, check=False, timeout=900)
            wall = time.monotonic() - start  # the drill leaves its lab up: stopping it is not the drill's time
            report = json.loads(done.stdout[done.stdout.index("{"):])
            waits = _lab_waits(Path(report["record"]))
        finally:
            os.environ.update(env)
            Lab.default().down()
            os.environ.clear()
            os.environ.update(saved)
    s = report["seconds"]
    lab_wait = s["lab_up"] + s.get("fault_settle", 0) + waits + s.get("recovery_check", 0)
    recovered = {True: "yes", False: "NO", None: "-"}[report["recovered"]]
    planned, acted = report.get("planned_cause"), report.get("cause")
    parity = f"yes ({acted})" if planned == acted else f"NO: {planned} / {acted}"
    check = s.get("check", 0)
    name, tool = f"{incident} / {fault}", wall - lab_wait - check
    figures += [Figure("Drill: waiting for the lab", name, "s", [lab_wait],
                       note="lab up + settle + waits in the playbook + recovery check"),
                Figure("Drill: the tool's own time", name, "s", [tool], note=f"exit {report['exit_code']}",
                       target="< 5 s" if fault == "l1-rpc-down" else ""),
                Figure("Drill: the plan (--check first)", name, "s", [check])]
    return (f"| {incident} | {fault} | {report['exit_code']} (run {report['run_exit_code']}) | {recovered} | "
            f"{parity} | {wall:.1f} | {s['lab_up']:.1f} + {s.get('fault_settle', 0):.1f} + {waits:.1f} + "
            f"{s.get('recovery_check', 0):.1f} = {lab_wait:.1f} | {check:.1f} | {wall - lab_wait - check:.1f} |")


def main() -> None:
    chosen = [a for a in sys.argv[1:] if a != "--all"]
    faults = chosen or [name for name, f in FAULTS.items() if "--all" in sys.argv or f.incident in NEWEST]
    print("| incident | fault | exit | recovered | plan = run | wall s | lab: up + settle + waits in the playbook + "
          "recovery check = s | plan s | tool s |")
    print("|---|---|---|---|---|---|---|---|---|")
    figures: list[Figure] = []
    for fault in faults:
        print(drill(fault, figures), flush=True)
    save("bench_drills", figures)


if __name__ == "__main__":
    main()
