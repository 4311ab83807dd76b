"""Incidents as records of their own: opened by the first run (or alert) that finds (incident, environment) broken,
the runs that follow attach to it, closed by a verified recovery or by `jeju-play incidents close ID --reason`.

    incidents/<ID>/incident.json   what the incident is, its runs, when and how it closed (replaced atomically)
    incidents/<ID>/comms.jsonl     every notification sent or tried (written by the jeju.ops notification modules)

A run begins by looking for the open incident of its (incident, environment); without one, a live run (or any run an
alert started) opens a provisional one, so that the notifications sent mid-run share one ID. When the run ends, a
provisional incident that found nothing wrong is dropped: a healthy diagnosis is not an incident.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jeju_play import audit, durations
from jeju_play.catalog import Incident as CatalogEntry
from jeju_play.errors import BadInput
from jeju_play.paths import incidents_dir, runs_dir
from jeju_play.record import Summary, now_iso

RECORD = "incident.json"
LEDGER = "comms.jsonl"
# Run outcomes that say something is wrong even without a diagnosed cause.
_TROUBLE = ("escalated", "failed", "handed to humans", "interrupted")


@dataclass
class RunRef:
    run_id: str
    started: str
    check_mode: bool
    origin: str
    outcome: str = "running"
    ended: str | None = None
    cause_text: str = ""


@dataclass
class Incident:
    id: str
    incident: str
    environment: str
    title: str
    severity: str
    escalation: int
    update_every: str | None
    opened: str
    origin: str
    status: str = "open"  # open or closed
    confirmed: bool = False  # a run found it broken (until then it is provisional)
    closed: str | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    runs: list[RunRef] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Incident:
        runs = [RunRef(**run) for run in data.get("runs", [])]
        return cls(**{**data, "runs": runs})

    def for_playbook(self, base: Path | None = None) -> dict[str, Any]:
        """What a playbook is told of its incident (jeju_incident_record): the ID its notifications share."""
        return {"id": self.id, "opened": self.opened, "new": len(self.runs) <= 1,
                "dir": str(folder(self.id, base)), "ledger": str(folder(self.id, base) / LEDGER)}


def new_id() -> str:
    return f"INC-{datetime.now(UTC).strftime('%Y%m%d-%H%M')}-{secrets.token_hex(2)}"


def folder(incident_id: str, base: Path | None = None) -> Path:
    return (base or incidents_dir()) / incident_id


@contextlib.contextmanager
def _locked(base: Path | None = None) -> Iterator[Path]:
    """One writer at a time across processes (two runs ending together, a close while a run attaches)."""
    where = base or incidents_dir()
    where.mkdir(parents=True, exist_ok=True)
    with open(where / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield where
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _save(incident: Incident, base: Path | None = None) -> None:
    path = folder(incident.id, base) / RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    audit.atomic_write(path, json.dumps(incident.as_dict(), indent=2) + "\n")


def _read(path: Path) -> Incident | None:
    try:
        return Incident.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def all_incidents(base: Path | None = None) -> list[Incident]:
    """Every incident, newest first."""
    where = base or incidents_dir()
    if not where.is_dir():
        return []
    found = [_read(path) for path in where.glob(f"*/{RECORD}")]
    return sorted((i for i in found if i is not None), key=lambda i: i.opened, reverse=True)


def open_incidents(base: Path | None = None, environment: str | None = None) -> list[Incident]:
    return [i for i in all_incidents(base) if i.is_open and environment in (None, i.environment)]


def find_open(name: str, environment: str, base: Path | None = None) -> Incident | None:
    for incident in open_incidents(base, environment):
        if incident.incident == name:
            return incident
    return None


def load(incident_id: str, base: Path | None = None) -> Incident:
    path = folder(incident_id, base) / RECORD if incident_id and "/" not in incident_id else None
    incident = _read(path) if path is not None else None
    if incident is None:
        raise BadInput(f"No incident '{incident_id}' in {base or incidents_dir()}. "
                       "`jeju-play incidents --all` lists them.")
    return incident


def begin(entry: CatalogEntry, environment: str, run_id: str, *, check: bool, origin: str,
          base: Path | None = None) -> Incident | None:
    """The incident this run works on: the open one, or a provisional new one; None for a routine procedure and
    for a check-mode run a human started with nothing open (looking is not an incident)."""
    if entry.routine:
        return None
    with _locked(base):
        incident = find_open(entry.name, environment, base)
        if incident is None:
            if check and origin != "alert":
                return None
            incident = Incident(id=new_id(), incident=entry.name, environment=environment, title=entry.title,
                                severity=entry.severity, escalation=entry.escalation,
                                update_every=entry.update_every, opened=now_iso(), origin=origin)
        incident.runs.append(RunRef(run_id=run_id, started=now_iso(), check_mode=check, origin=origin))
        _save(incident, base)
        return incident


def conclude(incident: Incident, entry: CatalogEntry, summary: Summary,
             base: Path | None = None) -> Incident | None:
    """Attach the run's outcome; confirm, close or drop the incident. None when it was dropped."""
    with _locked(base):
        current = _read(folder(incident.id, base) / RECORD) or incident
        cause = summary.cause or {}
        healthy = bool(cause.get("healthy"))
        for run in current.runs:
            if run.run_id == summary.run_id:
                run.outcome, run.ended = summary.outcome, summary.ended
                run.cause_text = str(cause.get("cause_text") or "")
        broken = (bool(cause) and not healthy) or summary.outcome in _TROUBLE
        if broken:
            current.confirmed = True
        if not current.confirmed and len(current.runs) <= 1:
            shutil.rmtree(folder(current.id, base), ignore_errors=True)  # nothing was wrong: no incident
            return None
        if current.is_open and summary.outcome == "verified" and not summary.check_mode and not (
                entry.resolved_by_humans and not healthy):
            reason = (f"found healthy by run {summary.run_id}" if healthy
                      else f"recovery verified by run {summary.run_id}: {summary.proof or summary.message}")
            _close(current, reason, summary.who)
        _save(current, base)
        return current


def close(incident_id: str, reason: str, who: str, base: Path | None = None) -> Incident:
    if not reason.strip():
        raise BadInput("Say why the incident is closed: --reason \"...\" (it goes into the record).")
    with _locked(base):
        incident = load(incident_id, base)
        if not incident.is_open:
            raise BadInput(f"Incident {incident_id} is already closed ({incident.closed} by {incident.closed_by}: "
                           f"{incident.close_reason}).")
        _close(incident, reason.strip(), who)
        _save(incident, base)
        return incident


def _close(incident: Incident, reason: str, who: str) -> None:
    incident.status, incident.closed, incident.closed_by, incident.close_reason = "closed", now_iso(), who, reason


def ledger(incident: Incident, base: Path | None = None) -> list[dict[str, Any]]:
    """The notifications sent or tried, in order."""
    path = folder(incident.id, base) / LEDGER
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            entries.append(json.loads(line))
    return entries


def cadence_seconds(update_every: str | None) -> int | None:
    """The catalog's update_every ("15m") in seconds; None: no scheduled updates."""
    return durations.seconds(update_every)


def brief(environment: str, base: Path | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    """The environment's open incidents as playbooks see them (jeju_open_incidents): the handoff lists them with
    when the next status update is due (the catalog's update_every after the last one delivered)."""
    moment = now or datetime.now(UTC)
    listed = []
    for incident in reversed(open_incidents(base, environment)):
        delivered = [str(e.get("time")) for e in ledger(incident, base) if e.get("delivered")]
        last = max(delivered) if delivered else incident.opened
        every = cadence_seconds(incident.update_every)
        due = None
        if every is not None:
            due = datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp() + every
        listed.append({"id": incident.id, "incident": incident.incident, "title": incident.title,
                       "severity": incident.severity, "opened": incident.opened, "runs": len(incident.runs),
                       "last_outcome": incident.runs[-1].outcome if incident.runs else "-",
                       "confirmed": incident.confirmed, "last_update": last,
                       "update_due": (datetime.fromtimestamp(due, UTC).isoformat(timespec="seconds")
                                      .replace("+00:00", "Z") if due is not None else None),
                       "update_overdue": bool(due is not None and moment.timestamp() > due)})
    return listed


def resolve_runs(identifier: str, base: Path | None = None, runs: Path | None = None) -> list[Path]:
    """The run folders an ID names: an incident's runs in order, or the one run with that run ID."""
    run_base = runs or runs_dir()
    if identifier.startswith("INC-"):
        incident = load(identifier, base)
        return [run_base / run.run_id for run in incident.runs if (run_base / run.run_id).is_dir()]
    if identifier and "/" not in identifier and (run_base / identifier / "summary.json").is_file():
        return [run_base / identifier]
    raise BadInput(f"'{identifier}' is neither an incident (`jeju-play incidents`) nor a run "
                   "(`jeju-play history`).")
