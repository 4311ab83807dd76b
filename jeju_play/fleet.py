"""One incident across several environments in one go: `jeju-play daily-checks -i local-1 -i local-2`, or `-i
GROUP`, an inventory directory whose environments.yml lists environments (`environments: [testnet, mainnet]`).

Each environment gets its own run (its own process, record, lock and freeze), all at once; a failure in one is
reported and does not stop the others. Every environment is validated before any run starts: bad input anywhere
runs nothing. Without a terminal to share, gates are approved by `--yes` (and `--yes-i-mean ENV` for each
production environment) or wait for `jeju-play approve RUN_ID` until their timeout.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jeju_play import environments, yamlio
from jeju_play.errors import BadInput, ExitCode

GROUP_FILE = "environments.yml"  # in an inventory directory: the environments it stands for


@dataclass
class FleetRun:
    """One environment's run: its exit code and the summary it printed (--json)."""

    environment: str
    exit_code: int = -1
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    error: str = ""  # what it said on stderr when it printed no summary

    @property
    def outcome(self) -> str:
        """The run's own outcome; without a summary (it ended before its run began), its exit code in words."""
        if self.summary.get("outcome"):
            return str(self.summary["outcome"])
        return {int(ExitCode.BAD_INPUT): "bad input", int(ExitCode.ESCALATED): "escalated",
                int(ExitCode.REFUSED): "refused"}.get(self.exit_code, "failed")

    @property
    def message(self) -> str:
        return " ".join(str(self.summary.get("message") or self.error).split())


def group_members(root: Path, name_or_path: str) -> list[str] | None:
    """The environments an inventory group lists, or None when name_or_path is no group."""
    for folder in (root / "inventories" / name_or_path, Path(name_or_path)):
        listed = folder / GROUP_FILE
        try:
            is_group = listed.is_file()
        except (OSError, ValueError):  # a name too long, a NUL byte: no group (resolve says it is unknown)
            is_group = False
        if is_group:
            try:
                data = yamlio.load(listed.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yamlio.YAMLError) as exc:
                raise BadInput(f"{listed}: not a readable YAML file ({' '.join(str(exc).split())[:200]}).") from exc
            members = data.get("environments") if isinstance(data, dict) else None
            if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
                raise BadInput(f"{listed}: expected `environments:` with a list of environment names or paths.")
            return members
    return None


def expand(root: Path, given: list[str]) -> list[str]:
    """The environments the -i options name, groups expanded, each once, in order; each must load (exit 2 else)."""
    names: list[str] = []
    for item in given:
        for name in group_members(root, item) or [item]:
            if name not in names:
                names.append(name)
    for name in names:
        environments.load(root, name)
    return names


def child_args(incident: str, environment: str, *, check: bool, yes: bool, yes_i_mean: list[str],
               passed: list[str]) -> list[str]:
    """The `jeju-play` command line of one environment's run."""
    args = [incident, "-i", environment, "--json", *passed]
    if check:
        args.append("--check")
    if yes:
        args.append("--yes")
    if environment in yes_i_mean:
        args += ["--yes-i-mean", environment]
    return args


FORKS = 5  # runs at once at most, as Ansible's default forks: each run is an ansible-playbook of its own


def check_forks(forks: int) -> None:
    if forks < 1:
        raise BadInput(f"--forks {forks}: give 1 or more (how many environments' runs at once).")


def run_across(environment_args: dict[str, list[str]], say: Callable[[str], None],
               forks: int = FORKS) -> list[FleetRun]:
    """Every environment's run, `forks` at a time (the next starts as one ends); `say` hears of each as it ends.
    Returns them in the order given."""
    check_forks(forks)
    runs = {name: FleetRun(name) for name in environment_args}
    slots = threading.BoundedSemaphore(forks)

    def one(run: FleetRun, args: list[str]) -> None:
        with slots:
            _run_one(run, args, say)

    threads = [threading.Thread(target=one, args=(runs[name], args), name=f"fleet-{name}")
               for name, args in environment_args.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return list(runs.values())


def _run_one(run: FleetRun, args: list[str], say: Callable[[str], None]) -> None:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "jeju_play", *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, check=False)
    run.seconds, run.exit_code = time.monotonic() - started, done.returncode
    try:
        parsed = json.loads(done.stdout) if done.stdout.strip() else {}
        run.summary = parsed if isinstance(parsed, dict) else {}
    except json.JSONDecodeError:
        run.summary = {}
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    run.error = lines[-1] if lines else ""
    say(f"{run.environment}: {run.outcome} (exit {run.exit_code}) in {run.seconds:.1f} s"
        + (f", run {run.summary['run_id']}" if run.summary.get("run_id") else ""))


def exit_code(runs: list[FleetRun]) -> int:
    """0 when every run is; else the first failing kind in the order failed, escalated, refused, bad input."""
    codes = {r.exit_code for r in runs}
    for code in (ExitCode.FAILED, ExitCode.ESCALATED, ExitCode.REFUSED, ExitCode.BAD_INPUT):
        if int(code) in codes:
            return int(code)
    return int(ExitCode.OK) if codes <= {int(ExitCode.OK)} else int(ExitCode.FAILED)
