"""Benchmark: network-down's diagnose phase against the lab, and an l1-rpc-down drill end to end.

Run: .venv/bin/python bench/bench_network_down.py [runs]. Starts a private lab (its own project copy), stops
it at the end. Figures go to docs/benchmarks.md.

1. Diagnose: playbooks/network-down.yml (in --check, so nothing changes) against the naive baseline
   bench/naive_network_down_diagnose.yml (one module task per check). Wall time of the Diagnose play, from
   its play_start event to the next play's (or the end), on a healthy lab and with l1-rpc-down broken.
2. Drill: `jeju-play drill network-down --fault l1-rpc-down --json`, split into waiting for the lab (lab up,
   fault settle, rollout and block waits inside the playbook, the drill's recovery watch) and the tool's own
   overhead (everything else).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jeju_lab.control import Lab  # noqa: E402
from jeju_play.paths import collections_dir  # noqa: E402
from tests.support import lab_env, make_lab_project  # noqa: E402

LAB_WAIT_TASKS = ("Wait for new L2 blocks", "Wait until the Deployment's pods are updated and available",
                  "Wait until the Deployment has no pods left")


def _stamp(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["created"]).timestamp()


def diagnose_seconds(playbook: Path, project: Path, check: bool) -> float:
    import ansible_runner

    with tempfile.TemporaryDirectory() as private:
        events: list[dict[str, Any]] = []
        ansible_runner.run(
            private_data_dir=private, playbook=str(playbook),
            inventory=[str(project / "inventories" / "shared"), str(project / "inventories" / "local")],
            extravars={"ansible_python_interpreter": sys.executable, "jeju_run_dir": private,
                       "jeju_run_id": "bench"},
            envvars={"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
                     "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
                     "ANSIBLE_COLLECTIONS_PATH": str(collections_dir())},
            cmdline="--check" if check else None, quiet=True, suppress_env_files=True,
            event_handler=lambda e: events.append(e) or True)
    marks = [e for e in events if e["event"] in ("playbook_on_play_start", "playbook_on_stats")]
    start = next(i for i, e in enumerate(marks) if e["event_data"].get("play", "").startswith("Diagnose"))
    return _stamp(marks[start + 1]) - _stamp(marks[start])


def bench_diagnose(project: Path, lab: Lab, runs: int) -> None:
    ours, naive = ROOT / "playbooks" / "network-down.yml", ROOT / "bench" / "naive_network_down_diagnose.yml"
    for label, fault in (("healthy lab", None), ("l1-rpc-down", "l1-rpc-down")):
        if fault:
            lab.break_fault(fault)
        diagnose_seconds(ours, project, True)  # warm caches
        fast = [diagnose_seconds(ours, project, True) for _ in range(runs)]
        slow = [diagnose_seconds(naive, project, False) for _ in range(runs)]
        print(f"diagnose ({label}): network-down median {statistics.median(fast):.2f} s "
              f"(max {max(fast):.2f}), naive median {statistics.median(slow):.2f} s (max {max(slow):.2f}), "
              f"ratio {statistics.median(fast) / statistics.median(slow):.2f}  ({runs} runs)")
        if fault:
            lab.heal()


def bench_drill(env: dict[str, str]) -> None:
    start = time.monotonic()
    done = subprocess.run([str(Path(sys.executable).parent / "jeju-play"), "drill", "network-down", "--fault",
                           "l1-rpc-down", "--json"], capture_output=True, text=True, env={**os.environ, **env},
                          check=False)
    wall = time.monotonic() - start
    report = json.loads(done.stdout[done.stdout.index("{"):])
    seconds = report["seconds"]
    events = [json.loads(line) for line in (Path(report["record"]) / "events.jsonl").read_text().splitlines()]
    in_playbook_waits = sum(e.get("duration") or 0 for e in events
                            if e.get("event") == "runner_on_ok" and e.get("task") in LAB_WAIT_TASKS)
    lab_wait = seconds["lab_up"] + seconds["fault_settle"] + in_playbook_waits + seconds.get("recovery_check", 0)
    print(f"drill l1-rpc-down: exit {report['exit_code']}, recovered {report['recovered']}, wall {wall:.1f} s "
          f"(drill total {seconds['total']:.1f} s): lab up {seconds['lab_up']:.1f}, settle "
          f"{seconds['fault_settle']:.1f}, playbook {seconds['playbook']:.1f} (of which waiting for rollout and "
          f"blocks {in_playbook_waits:.1f}), recovery check {seconds.get('recovery_check', 0):.1f}; "
          f"waiting for the lab {lab_wait:.1f} s, tool overhead {wall - lab_wait:.1f} s")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as base:
        project = make_lab_project(Path(base) / "project")
        env = lab_env(project)
        os.environ.update(env)
        lab = Lab.default()
        lab.up()
        try:
            bench_diagnose(project, lab, runs)
            bench_drill(env)
        finally:
            Lab.default().down()


if __name__ == "__main__":
    main()
