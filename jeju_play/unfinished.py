"""A run that died mid-way (SIGKILL, a crash, a lost laptop): what its record says it had done, and its record
marked interrupted by the run that finds it (through the remediation lock it left, jeju_play.lock)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jeju_play import audit
from jeju_play.errors import BadInput
from jeju_play.paths import runs_dir
from jeju_play.record import now_iso
from jeju_play.timeline import read_jsonl

INTERRUPTED = "interrupted"


def _tried(events: list[dict[str, Any]]) -> list[str]:
    tried: list[str] = []
    for event in events:
        facts = (event.get("res") or {}).get("ansible_facts") or {}
        if isinstance(facts.get("incident_tried"), list):
            tried = [str(t) for t in facts["incident_tried"]]
    return tried


def account(run_id: str, base: Path | None = None) -> str:
    """One line: the dead run's incident, start, the gates it had approved and what it had tried."""
    folder = (base or runs_dir()) / run_id
    try:
        summary = json.loads((folder / audit.SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"no record of run {run_id} in {folder.parent}"
    approved = [str(a.get("description", "")).strip() for a in read_jsonl(folder / audit.APPROVALS)
                if a.get("decision") == "approved"]
    tried = _tried(read_jsonl(folder / audit.EVENTS))
    return (f"{summary.get('incident')} on {summary.get('environment')}, started {summary.get('started')} by "
            f"{summary.get('who')}; gates approved: {'; '.join(approved) or 'none'}; tried: "
            f"{'; '.join(tried) or 'nothing recorded'} (record {folder})")


def mark_interrupted(run_id: str, found_by: str, base: Path | None = None) -> bool:
    """Close a dead run's record that never closed itself (outcome still running); True when it was marked."""
    folder = (base or runs_dir()) / run_id
    try:
        summary = json.loads((folder / audit.SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if summary.get("outcome") != "running":
        return False
    summary.update(outcome=INTERRUPTED, ended=now_iso(),
                   message=f"The runner died before the run ended (killed, crashed or its machine lost); found "
                           f"by run {found_by}, which took its remediation lock over. What it had done: "
                           f"{account(run_id, base)}.")
    try:
        audit.rewrite_summary(folder, summary)
    except (BadInput, OSError):
        return False  # a record whose chains do not verify is left as it is for `jeju-play audit verify`
    return True
