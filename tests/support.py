"""Helpers for tests: the project's paths and the installed `jeju-play` script run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from jeju_play.lab.control import Lab

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


def listening_addresses(pids: list[int]) -> set[str]:
    """The IPs the given processes listen on (TCP), read from /proc like `ss -ltnp` does."""
    import ipaddress

    inodes: dict[str, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            raw = fields[1].split(":")[0]
            packed = bytes.fromhex(raw)
            if len(packed) == 4:
                ip = str(ipaddress.IPv4Address(packed[::-1]))
            else:
                words = [packed[i:i + 4][::-1] for i in range(0, 16, 4)]
                ip = str(ipaddress.IPv6Address(b"".join(words)))
            inodes[fields[9]] = ip
    found = set()
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        for fd in fd_dir.iterdir() if fd_dir.exists() else []:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                found.add(inodes[target[8:-1]])
    return found


@dataclass
class LabHandle:
    project: Path
    lab: Lab
    env: dict[str, str]

    @property
    def state(self) -> dict:  # type: ignore[type-arg]
        return self.lab.state

    @property
    def kubeconfig(self) -> str:
        return str(self.state["kubeconfig"])


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def running_lab(base: Path) -> Iterator[LabHandle]:
    """A lab in a private project copy under `base`, with the environment pointing at it; stopped by pid."""
    project = make_lab_project(base)
    env = lab_env(project)
    with _environ(env):
        lab = Lab.default()
        lab.up()
        try:
            yield LabHandle(project, lab, env)
        finally:
            lab.down()


def run_incident(lab: LabHandle, incident: str, *args: str, inventory: str = "local",
                 timeout: float = 240) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`jeju-play INCIDENT -i INVENTORY ARGS` against the lab; returns the result and the one run it recorded."""
    runs = Path(lab.env["JEJU_PLAY_RUNS"])
    before = set(recorded_runs(runs))
    done = run_cli(incident, "-i", inventory, *args, env_extra=lab.env, timeout=timeout)
    after = [r for r in recorded_runs(runs) if r not in before]
    assert len(after) == 1, done.stdout + done.stderr
    return done, after[0]


def artifact(record: Path, name: str) -> str:
    """A file the playbook wrote into the run record's artifacts/."""
    return (record / "artifacts" / name).read_text(encoding="utf-8")


def classification(record: Path) -> str:
    """The cause the Decide phase chose (first line of artifacts/classification)."""
    return artifact(record, "classification").splitlines()[0]
