"""Benchmark: serve's own overhead per Alertmanager notification (goal: under 50 ms), over real HTTP.

Run: .venv/bin/python bench/bench_serve.py [notifications]. Starts `jeju-play serve` on the runner's fixture
project (real playbooks, no lab) in a temporary folder, and times the round trip of each notification as
Alertmanager sees it, by decision: ignored (an alert no incident has), joined (a repeat of a firing alert
while its run runs) and started (the first, which spawns the run's process). Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import Figure, save  # noqa: E402

from tests.runner.test_serve import WEBHOOK, alert, notification, set_gate_timeout  # noqa: E402
from tests.support import FIXTURE_PROJECT, link_collection, running_serve  # noqa: E402


def timed(serve, body) -> tuple[float, str]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    status, answer = serve.request("POST", "/alertmanager", body, WEBHOOK["lab"])
    took = (time.perf_counter() - start) * 1000
    assert status == 200, answer
    return took, answer["decisions"][0]["action"]


def main(count: int) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    project = base / "project"
    shutil.copytree(FIXTURE_PROJECT, project)
    link_collection(project)
    set_gate_timeout(project, "lab", 600)  # the started run waits at its gate while the repeats join it
    os.environ.update(JEJU_PLAY_HOME=str(project), JEJU_PLAY_RUNS=str(base / "runs"),
                      JEJU_PLAY_INCIDENTS=str(base / "incidents"))
    figures: dict[str, list[float]] = {"ignore": [], "start": [], "join": []}
    try:
        with running_serve("lab", state=base / "serve") as serve:
            for _ in range(count):
                took, action = timed(serve, notification(alert(name="NotInTheCatalog")))
                figures[action].append(took)
            took, action = timed(serve, notification(alert()))
            figures[action].append(took)
            for _ in range(count):
                took, action = timed(serve, notification(alert()))
                figures[action].append(took)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"serve overhead per notification, {count} each (round trip over loopback HTTP, ms):")
    for action, values in figures.items():
        values.sort()
        p95 = values[max(0, int(len(values) * 0.95) - 1)]
        print(f"  {action:<7} n={len(values):<4} median {statistics.median(values):6.1f}  p95 {p95:6.1f}  "
              f"max {values[-1]:6.1f}")
    save("bench_serve", [Figure("serve: one Alertmanager notification", action, "ms", values, target="< 50 ms")
                         for action, values in figures.items()])


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
