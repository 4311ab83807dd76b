"""What every benchmark under bench/ shares: a figure (samples beside the baseline measured in the same run), the
results file it writes (bench/results/<bench>.json), and a private lab to measure against.

`make bench` (bench/run_all.py) runs the benchmarks, then bench/report.py turns their results files into the
generated part of docs/benchmarks.md and its chart. Benchmarks are not tests: nothing fails on a number.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass
class Figure:
    """One measured thing: its samples and, where there is one, the baseline's samples from the same run."""

    group: str  # the table and chart panel it belongs to: "CLI start-up", "Diagnose phase", ...
    name: str
    unit: str  # "s", "ms", "requests", "MiB", "%"
    samples: list[float]
    baseline: str = ""  # what it is measured against ("ansible-playbook --version", "naive playbook")
    baseline_samples: list[float] = field(default_factory=list)
    target: str = ""  # the goal, in words ("<= 1.0 s"), or ""
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def ratio(self) -> float | None:
        if not self.baseline_samples or not statistics.median(self.baseline_samples):
            return None
        return self.median / statistics.median(self.baseline_samples)


def save(bench: str, figures: list[Figure], argv: list[str] | None = None) -> Path:
    """Write bench/results/<bench>.json: the figures with when, where and how they were measured."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{bench}.json"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    document = {"bench": bench, "command": " ".join(["bench/" + bench + ".py", *(argv or sys.argv[1:])]),
                "measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
                "load_at_end": round(load, 1) if load is not None else None,
                "figures": [asdict(f) for f in figures]}
    path.write_text(json.dumps(document, indent=1) + "\n")
    print(f"written: {path.relative_to(ROOT)} ({len(figures)} figures)")
    return path


def load(path: Path) -> tuple[dict[str, Any], list[Figure]]:
    document = json.loads(path.read_text())
    return document, [Figure(**f) for f in document.get("figures", [])]


@contextmanager
def private_lab() -> Iterator[tuple[Path, dict[str, str]]]:
    """A project copy with its own lab, up for the block and stopped afterwards: (project, its environment)."""
    from jeju_lab.control import Lab
    from tests.support import lab_env, make_lab_project

    saved = dict(os.environ)
    with tempfile.TemporaryDirectory() as base:
        project = make_lab_project(Path(base) / "project")
        env = lab_env(project)
        os.environ.update(env)
        try:
            Lab.default().up()
            yield project, env
        finally:
            Lab.default().down()
            os.environ.clear()
            os.environ.update(saved)
