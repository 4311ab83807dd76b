"""An incident's timeline, from what its runs recorded: detected, diagnosed (cause and evidence), each gate and who
answered it, each change (with its transaction hashes), verification, outcome, and every notification sent.

`jeju-play incidents show ID` prints it; `jeju-play report ID` fills the runbook's messages from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jeju_play import incidents
from jeju_play.incidents import Incident
from jeju_play.paths import runs_dir

PHASE_WORDS = {"diagnose": "Diagnosing", "decide": "Deciding", "remediate": "Remediating", "verify": "Verifying"}


@dataclass(frozen=True)
class Entry:
    time: str
    what: str  # detected, run, phase, cause, gate, change, verified, outcome, sent, not sent, closed
    text: str
    run_id: str = ""


@dataclass
class RunFacts:
    """One run of the incident as its record has it."""

    run_id: str
    summary: dict[str, Any]
    approvals: list[dict[str, Any]]
    phases: dict[str, str]  # phase -> the time it started
    folder: Path
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def check_mode(self) -> bool:
        return bool(self.summary.get("check_mode"))


@dataclass
class Story:
    incident: Incident
    runs: list[RunFacts]
    sent: list[dict[str, Any]]
    entries: list[Entry]

    @property
    def live_runs(self) -> list[RunFacts]:
        return [run for run in self.runs if not run.check_mode]

    @property
    def cause(self) -> dict[str, Any]:
        """The last cause a run diagnosed (healthy findings aside)."""
        for run in reversed(self.runs):
            cause = run.summary.get("cause") or {}
            if cause and not cause.get("healthy"):
                return dict(cause)
        return {}

    @property
    def evidence(self) -> dict[str, Any]:
        for run in reversed(self.runs):
            if run.evidence:
                return run.evidence
        return {}

    @property
    def changes(self) -> list[str]:
        return [change for run in self.live_runs for change in run.summary.get("tried") or []]

    @property
    def proof(self) -> str:
        for run in reversed(self.live_runs):
            if run.summary.get("outcome") == "verified" and run.summary.get("proof"):
                return str(run.summary["proof"])
        return ""

    @property
    def drift(self) -> list[Any]:
        """The live changes to reconcile, as `jeju-play drift ID` reads and merges them (jeju_play.drift)."""
        from jeju_play import drift  # ruamel.yaml: only the reports that list drift pay for it

        return list(drift.collect([run.folder for run in self.live_runs]))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """A record's JSON-lines file (events, approvals), [] when absent; a torn last line is skipped."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue  # a torn last line of a run that was killed
    return rows


def _phases(folder: Path) -> dict[str, str]:
    started: dict[str, str] = {}
    for event in read_jsonl(folder / "events.jsonl"):
        if event.get("event") == "playbook_on_play_start" and event.get("phase") in PHASE_WORDS:
            started.setdefault(str(event["phase"]), _stamp(str(event.get("time", ""))))
    return started


def _stamp(value: str) -> str:
    """Every time in the record's own format (UTC, milliseconds, Z)."""
    return value.replace("+00:00", "Z")[:23] + "Z" if "+00:00" in value and len(value) > 23 else value


def _evidence(folder: Path) -> dict[str, Any]:
    path = folder / "artifacts" / "diagnosis.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        return {}
    evidence = data.get("evidence") if isinstance(data, dict) else None
    return evidence if isinstance(evidence, dict) else {}


def load_run(run_id: str, base: Path | None = None) -> RunFacts | None:
    folder = (base or runs_dir()) / run_id
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return RunFacts(run_id, summary, read_jsonl(folder / "approvals.jsonl"), _phases(folder), folder,
                    _evidence(folder))


def story(incident: Incident, runs: Path | None = None, base: Path | None = None) -> Story:
    facts = [f for f in (load_run(ref.run_id, runs) for ref in incident.runs) if f is not None]
    sent = incidents.ledger(incident, base)
    entries = [Entry(incident.opened, "detected", f"Detected by {_origin(incident.origin)}")]
    for run in facts:
        entries += _run_entries(run)
    for note in sent:
        entries.append(_sent_entry(note))
    if incident.closed:
        entries.append(Entry(incident.closed, "closed", f"Closed by {incident.closed_by}: {incident.close_reason}"))
    entries.sort(key=lambda e: (e.time, e.what != "detected"))
    return Story(incident, facts, sent, entries)


def _origin(origin: str) -> str:
    return {"alert": "an alert", "drill": "a drill", "cli": "an operator's run"}.get(origin, origin)


def _run_entries(run: RunFacts) -> list[Entry]:
    s, rid = run.summary, run.run_id
    mode = " (check mode: nothing changed)" if run.check_mode else ""
    out = [Entry(str(s.get("started", "")), "run", f"Run {rid} by {s.get('who')} ({s.get('origin')}){mode}", rid)]
    for phase, started in run.phases.items():
        out.append(Entry(started, "phase", PHASE_WORDS[phase], rid))
    cause = s.get("cause") or {}
    if cause:
        when = run.phases.get("decide") or run.phases.get("diagnose") or str(s.get("started", ""))
        out.append(Entry(when, "cause", f"Cause: {cause.get('cause_text')}", rid))
    for approval in run.approvals:
        answer = approval.get("answer") or {}
        out.append(Entry(str(answer.get("when") or s.get("started", "")), "gate",
                         f"Gate: {approval.get('description')} -> {approval.get('decision')} by "
                         f"{answer.get('who', '?')} ({answer.get('how', '?')})", rid))
    when = run.phases.get("verify") or str(s.get("ended") or "")
    for change in s.get("tried") or []:
        verb = "Would change" if run.check_mode else "Changed"
        out.append(Entry(run.phases.get("remediate") or when, "change", f"{verb}: {change}", rid))
    if s.get("proof"):
        out.append(Entry(when, "verified", f"Verified: {s['proof']}", rid))
    if s.get("ended"):
        out.append(Entry(str(s["ended"]), "outcome", f"Outcome: {s.get('outcome')} (exit {s.get('exit_code')})", rid))
    return out


def _sent_entry(note: dict[str, Any]) -> Entry:
    key = str(note.get("key", ""))
    channel = key.split("/")[1] if key.count("/") >= 1 else str(note.get("service", ""))
    action = note.get("action") or key.rsplit("/", 1)[-1]
    if note.get("delivered"):
        return Entry(str(note.get("time", "")), "sent", f"Sent: {channel} {action}")
    return Entry(str(note.get("time", "")), "not sent",
                 f"NOT delivered: {channel} {action}: {note.get('error') or 'unknown error'}")
