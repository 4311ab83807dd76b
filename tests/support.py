"""Helpers for tests: the project's paths and the installed `jeju-play` script run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_PROJECT = ROOT / "tests" / "fixtures" / "project"
JEJU_PLAY = Path(sys.executable).parent / "jeju-play"


def run_cli(*args: str, env_extra: dict[str, str] | None = None, stdin: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The installed `jeju-play` console script in a subprocess, as a user runs it (no terminal)."""
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([str(JEJU_PLAY), *args], capture_output=True, text=True, env=env,
                          input=stdin if stdin is not None else "", timeout=timeout, check=False)


def recorded_runs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.is_dir()) if folder.exists() else []


def make_lab_project(base: Path) -> Path:
    """A private copy of the project for a lab: its own inventories (lab.yml lands here), .lab and runs.

    Playbooks, catalog and runbook are the checkout's (symlinked), so tests run the real ones.
    """
    import shutil

    base.mkdir(parents=True, exist_ok=True)
    for name in ("catalog.yml", "docs", "playbooks"):
        (base / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "inventories", base / "inventories", ignore=shutil.ignore_patterns("lab.yml"))
    return base


def lab_env(project: Path) -> dict[str, str]:
    return {"JEJU_PLAY_HOME": str(project), "JEJU_PLAY_LAB_DIR": str(project / ".lab"),
            "JEJU_PLAY_RUNS": str(project / "runs")}
