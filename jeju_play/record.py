"""The run record: runs/<run-id>/ with events.jsonl (hash-chained), approvals.jsonl and summary.json.

Everything written here is scrubbed of the environment's secret values first.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import secrets
import socket
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jeju_play.errors import BadInput
from jeju_play.paths import runs_dir

REDACTED = "********"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def operator() -> str:
    """Who runs this: JEJU_PLAY_OPERATOR, else user@host."""
    override = os.environ.get("JEJU_PLAY_OPERATOR")
    if override:
        return override
    try:
        user = getpass.getuser()
    except OSError:
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def new_run_id(incident: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{incident}-{secrets.token_hex(2)}"


@dataclass
class PhaseResult:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def status(self) -> str:
        if self.failed:
            return "failed"
        if self.changed:
            return "changed"
        if self.ok:
            return "ok"
        return "skipped" if self.skipped else "not run"


@dataclass
class Summary:
    run_id: str
    incident: str
    environment: str
    inventory: str
    playbook: str
    who: str
    started: str
    check_mode: bool
    ended: str | None = None
    outcome: str = "running"
    exit_code: int | None = None
    message: str = ""
    phases: dict[str, PhaseResult] = field(default_factory=dict)
    gates: list[dict[str, Any]] = field(default_factory=list)
    escalation: dict[str, Any] | None = None  # level, contact and advice when the run was handed to humans

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["phases"] = {name: {**asdict(p), "status": p.status} for name, p in self.phases.items()}
        return data


class Scrubber:
    """Replaces every known secret value in strings with ********."""

    def __init__(self, secret_values: list[str]):
        self._secrets = sorted({s for s in secret_values if s}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, REDACTED)
        return value

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: REDACTED if str(k).startswith("vault_") else self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value


class RunRecord:
    """One run's folder. Appends are flushed at once so that a crash leaves a readable record."""

    def __init__(self, run_id: str, scrubber: Scrubber, base: Path | None = None):
        self.run_id = run_id
        self.dir = (base or runs_dir()) / run_id
        self.dir.mkdir(parents=True, exist_ok=False)
        (self.dir / "artifacts").mkdir()
        self._scrub = scrubber
        self._last_hash = "0" * 64
        self._seq = 0

    def append_event(self, event: dict[str, Any]) -> None:
        self._seq += 1
        body = self._scrub.data({"seq": self._seq, **event})
        canonical = json.dumps(body, sort_keys=True, default=str)
        digest = hashlib.sha256((self._last_hash + canonical).encode()).hexdigest()
        line = json.dumps({**body, "prev_hash": self._last_hash, "hash": digest}, default=str)
        self._last_hash = digest
        with (self.dir / "events.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def append_approval(self, approval: dict[str, Any]) -> None:
        with (self.dir / "approvals.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(self._scrub.data(approval), default=str) + "\n")

    def write_summary(self, summary: Summary) -> None:
        path = self.dir / "summary.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._scrub.data(summary.as_dict()), indent=2, default=str) + "\n")
        tmp.replace(path)

    def scrub_artifacts(self) -> None:
        """Playbooks write reports under artifacts/; make sure no secret survives in them."""
        for path in (self.dir / "artifacts").rglob("*"):
            if path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace")
                cleaned = self._scrub.text(text)
                if cleaned != text:
                    path.write_text(cleaned, encoding="utf-8")


def list_runs(base: Path | None = None) -> list[dict[str, Any]]:
    folder = base or runs_dir()
    if not folder.is_dir():
        return []
    runs = []
    for summary in sorted(folder.glob("*/summary.json"), reverse=True):
        try:
            runs.append(json.loads(summary.read_text()))
        except (OSError, json.JSONDecodeError):
            runs.append({"run_id": summary.parent.name, "outcome": "unreadable"})
    return runs


def load_run(run_id: str, base: Path | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    folder = (base or runs_dir()) / run_id
    summary_path = folder / "summary.json"
    if "/" in run_id or not summary_path.is_file():
        raise BadInput(f"No run '{run_id}' in {base or runs_dir()}. `jeju-play history` lists the runs.")
    approvals_path = folder / "approvals.jsonl"
    approvals = [json.loads(line) for line in approvals_path.read_text().splitlines()] if (
        approvals_path.is_file()) else []
    return json.loads(summary_path.read_text()), approvals
