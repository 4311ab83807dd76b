"""Benchmark: every incident's diagnose phase on a healthy lab, and the requests it costs the lab; each incident the
runbook has diagnostic commands for beside its two baselines, measured in the same run (bench/baselines.py): a
naive playbook with one stock task per read and the runbook's raw commands typed in sequence (kubectl, cast, curl).

Run: .venv/bin/python bench/bench_diagnose.py [runs] [INCIDENT ...]   (default 3 runs, every automated incident).
One private lab (its own project copy), stopped at the end. Writes bench/results/bench_diagnose.json.

- Diagnose phase: `jeju-play INCIDENT -i local --check`, from the run record's "Diagnose: ..." play start to the
  next play's start (what the run spends reading before it decides). Targets (issue 13): <= 1.0 s and <= 0.2x the
  naive playbook.
- Requests: the lab's counters (`GET /requests` on its control API: Kubernetes API requests, JSON-RPC POSTs to the
  L1 endpoints and the public RPC by User-Agent; a batch is one) over the whole --check run. The User-Agents the
  lab's own background uses (its simulators, seen in a quiet interval first) are left out. The op-node RPC and
  the L1 anvil read directly are not counted (no proxy in front of them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from baselines import READS, naive_playbook, raw_commands
from harness import ROOT, Figure, private_lab, save

from jeju_lab.control import Lab
from jeju_play.catalog import load as load_catalog
from jeju_play.paths import collections_dir

JEJU_PLAY = Path(sys.executable).parent / "jeju-play"


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _totals(counts: dict[str, Any], quiet: set[str]) -> tuple[int, int]:
    """(Kubernetes API requests, JSON-RPC requests from agents other than the lab's own background)."""
    rpc = sum(n for agents in counts["rpc"].values() for agent, n in agents.items() if agent not in quiet)
    return sum(counts["kube"].values()), rpc


def diagnose_from_record(record: Path) -> float | None:
    """Seconds from the Diagnose play's start to the next play's (or the end), read from events.jsonl."""
    events = [json.loads(line) for line in (record / "events.jsonl").read_text().splitlines()]
    marks = [e for e in events if e.get("event") in ("playbook_on_play_start", "playbook_on_stats")]
    for index, mark in enumerate(marks[:-1]):
        if str(mark.get("play", "")).startswith("Diagnose"):
            return _stamp(marks[index + 1]["time"]) - _stamp(mark["time"])
    return None


def our_run(incident: str, project: Path, env: dict[str, str]) -> tuple[float | None, int, int, int]:
    """One `--check` run: (diagnose seconds, exit code, kube requests, RPC requests)."""
    lab, runs, quiet = Lab.default(), project / "runs", background_agents()
    before = _totals(lab.requests(), quiet)
    done = subprocess.run([str(JEJU_PLAY), incident, "-i", "local", "--check"], capture_output=True, text=True,
                          env={**os.environ, **env}, check=False, timeout=600)
    after = _totals(lab.requests(), quiet)
    records = sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime) \
        if runs.exists() else []
    seconds = diagnose_from_record(records[-1]) if records else None
    return seconds, done.returncode, after[0] - before[0], after[1] - before[1]


_BACKGROUND: set[str] = set()


def background_agents(seconds: float = 5.0) -> set[str]:
    """The User-Agents that call the lab's RPC endpoints with nothing running against it (measured once)."""
    if not _BACKGROUND:
        lab = Lab.default()
        before = lab.requests()["rpc"]
        time.sleep(seconds)  # a quiet interval is the measurement itself
        after = lab.requests()["rpc"]
        _BACKGROUND.update(agent for name, agents in after.items() for agent, n in agents.items()
                           if n > before.get(name, {}).get(agent, 0))
        _BACKGROUND.add("")  # never empty: measured
    return _BACKGROUND


def naive_seconds(project: Path, playbook: Path) -> float:
    """The naive playbook's play, start to end, from ansible-runner's events (as for ours: no start-up)."""
    import ansible_runner

    events: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as private:
        ansible_runner.run(
            private_data_dir=private, playbook=str(playbook),
            inventory=[str(project / "inventories" / "shared"), str(project / "inventories" / "local")],
            extravars={"ansible_python_interpreter": sys.executable},
            envvars={"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
                     "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
                     "ANSIBLE_COLLECTIONS_PATH": str(collections_dir())},
            quiet=True, suppress_env_files=True, event_handler=lambda e: events.append(e) or True)
    failed = [e["event_data"].get("task") for e in events if e["event"] == "runner_on_failed"
              and not e["event_data"].get("ignore_errors")]
    if failed:
        raise SystemExit(f"the naive playbook {playbook.name} failed at {failed}")
    marks = [e for e in events if e["event"] in ("playbook_on_play_start", "playbook_on_stats")]
    return _stamp(marks[-1]["created"]) - _stamp(marks[0]["created"])


def lab_variables(project: Path) -> dict[str, Any]:
    """The lab's inventory variables the raw commands need, and cast's path."""
    variables = yaml.safe_load((project / "inventories" / "local" / "group_vars" / "all" / "lab.yml").read_text())
    return {**variables, "cast": str(ROOT / "node_modules" / ".bin" / "cast")}


def raw_seconds(commands: list[list[str]]) -> float:
    started = time.monotonic()
    for argv in commands:
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=60)
    return time.monotonic() - started


def check_raw(commands: list[list[str]]) -> None:
    """Every raw command works on the lab (a baseline of failing commands would measure nothing)."""
    for argv in commands:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
        if done.returncode != 0:
            raise SystemExit(f"raw command failed ({done.returncode}): {' '.join(argv)}\n{done.stderr[-500:]}")


def bench_incident(name: str, runs: int, project: Path, env: dict[str, str]) -> list[Figure]:
    our_run(name, project, env)  # warm the page cache and the collections' imports
    results = [our_run(name, project, env) for _ in range(runs)]
    seconds = [r[0] for r in results if r[0] is not None]
    codes = sorted({r[1] for r in results})
    if not seconds:
        print(f"{name}: no Diagnose play in its record (exit {codes})")
        return []
    figure = Figure("Diagnose phase", name, "s", seconds, target="<= 1.0 s",
                    note="--check, exit " + "/".join(map(str, codes)))
    extra = []
    if name in READS:
        with tempfile.TemporaryDirectory() as scratch:
            playbook = naive_playbook(name, Path(scratch) / f"naive-{name}.yml")
            figure.baseline = f"naive playbook, {len(READS[name])} stock tasks"
            figure.baseline_samples = [naive_seconds(project, playbook) for _ in range(runs)]
        commands = raw_commands(name, lab_variables(project))
        check_raw(commands)
        extra.append(Figure("Diagnose phase", f"{name} against the runbook's commands", "s", seconds,
                            "the runbook's commands", [raw_seconds(commands) for _ in range(runs)],
                            note=f"{len(commands)} kubectl, cast and curl commands typed in sequence"))
    requests = [Figure("Requests per --check run", f"{name}: Kubernetes API", "requests",
                       [float(r[2]) for r in results]),
                Figure("Requests per --check run", f"{name}: JSON-RPC", "requests", [float(r[3]) for r in results])]
    ratio = f", {figure.ratio:.2f}x the naive playbook" if figure.ratio else ""
    print(f"{name}: diagnose median {figure.median:.2f} s{ratio}; requests kube {requests[0].median:.0f}, "
          f"rpc {requests[1].median:.0f}; exit {codes}", flush=True)
    return [figure, *extra, *requests]


def main() -> None:
    args = sys.argv[1:]
    runs = int(args.pop(0)) if args and args[0].isdigit() else 3
    catalog = load_catalog(ROOT)
    names = args or [i.name for i in catalog.incidents if i.automated]
    figures: list[Figure] = []
    with private_lab() as (project, env):
        background_agents()
        for name in names:
            figures += bench_incident(name, runs, project, env)
    print(f"left out, the lab's own background: {', '.join(sorted(_BACKGROUND - {''})) or 'none'}")
    save("bench_diagnose", figures)


if __name__ == "__main__":
    main()
