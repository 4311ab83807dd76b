"""The run record: runs/<run-id>/ with events.jsonl and approvals.jsonl (each hash-chained) and summary.json
(anchored to both chains' last hashes); `jeju-play audit verify` checks them (jeju_play.audit).

Everything written here is scrubbed of the environment's secret values first.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import socket
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jeju_play import audit
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
    origin: str = "cli"  # cli, drill or alert
    cause: dict[str, Any] | None = None  # the decision: cause, cause_text, healthy
    tried: list[str] = field(default_factory=list)  # each change made (or, in check mode, planned)
    proof: str = ""  # what verification saw
    incident_id: str | None = None  # the incident this run worked on (jeju_play.incidents)
    incident_closed: bool = False  # this run closed it (a verified recovery)
    alerts: list[dict[str, Any]] = field(default_factory=list)  # the alerts that started it (serve): name,
    # fingerprint, labels, startsAt
    content: dict[str, Any] | None = None  # what ran: commit, tree, reviewed branch, signature (jeju_play.review)

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
        self._last_hash = audit.GENESIS
        self._seq = 0
        self._last_approval_hash = audit.GENESIS
        self._approvals = 0

    def append_event(self, event: dict[str, Any]) -> None:
        self._seq += 1
        self._last_hash = self._chain(audit.EVENTS, {"seq": self._seq, **event}, self._last_hash)

    def append_approval(self, approval: dict[str, Any]) -> None:
        self._approvals += 1
        self._last_approval_hash = self._chain(audit.APPROVALS, {"seq": self._approvals, **approval},
                                               self._last_approval_hash)

    def _chain(self, name: str, entry: dict[str, Any], prev_hash: str) -> str:
        body = audit.jsonable(self._scrub.data(entry))
        digest = audit.link(prev_hash, body)
        audit.append_line(self.dir / name, json.dumps({**body, "prev_hash": prev_hash, "hash": digest}))
        return digest

    def write_summary(self, summary: Summary) -> None:
        """summary.json, anchored to the chains as they stand, replaced atomically (never half-written)."""
        for name in (audit.EVENTS, audit.APPROVALS):
            audit.sync(self.dir / name)
        data = audit.anchored(self._scrub.data(summary.as_dict()), (self._seq, self._last_hash),
                              (self._approvals, self._last_approval_hash))
        audit.atomic_write(self.dir / audit.SUMMARY, json.dumps(data, indent=2) + "\n")

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
    try:
        found = "/" not in run_id and summary_path.is_file()
    except (OSError, ValueError):  # a run id too long for a file name, or with a NUL byte
        found = False
    if not found:
        raise BadInput(f"No run '{run_id}' in {base or runs_dir()}. `jeju-play history` lists the runs.")
    approvals_path = folder / "approvals.jsonl"
    approvals = [json.loads(line) for line in approvals_path.read_text().splitlines()] if (
        approvals_path.is_file()) else []
    return json.loads(summary_path.read_text()), approvals
