"""Status updates on the catalog's cadence (runbook: every 15 minutes for P0, 30 for P1).

`jeju-play incidents update ID` posts an open incident's update now; `jeju-play serve` posts each one that falls
due (update_every after the incident's last message). The update is reports/update.md.j2 (status, actions taken,
next steps, ETA) sent by playbooks/comms/status-update.yml to the incident's channels and the status page; nobody
is paged. Each is a run of its own in the record (`jeju-play history`), not one of the incident's runs. A slot
(the due time an update answers) is sent once, whoever tries it and however often (the comms ledger).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jeju_play import incidents, playbook, reports, timeline
from jeju_play import request as request_mod
from jeju_play.errors import BadInput
from jeju_play.events import EventSink
from jeju_play.record import RunRecord, Scrubber, Summary, new_run_id, now_iso
from jeju_play.view import RunView

UPDATE_PLAYBOOK = Path("playbooks") / "comms" / "status-update.yml"  # jeju-play's own, under the project
PAGE_STATUS = {"Investigating": "investigating", "Identified": "identified"}


@dataclass(frozen=True)
class Due:
    """An open incident whose next update is due."""

    incident_id: str
    slot: str  # the due time the update answers


def due(environment: str, base: Path | None = None, now: datetime | None = None) -> list[Due]:
    """The environment's open incidents whose update is overdue (the handoff's update_overdue)."""
    return [Due(item["id"], str(item["update_due"])) for item in incidents.brief(environment, base, now)
            if item["update_overdue"]]


@dataclass
class Posted:
    run_id: str
    record_dir: Path
    exit_code: int
    slot: str
    message: str


def post(root: Path, incident_id: str, view: RunView, *, operator: str, check: bool = False,
         only_due: bool = False, origin: str = "cli") -> Posted | None:
    """Post the incident's status update (only_due: only when one is due, for that slot). None: nothing due."""
    incident = incidents.load(incident_id)
    if not incident.is_open:
        raise BadInput(f"Incident {incident_id} is closed ({incident.closed}): it gets no more updates. "
                       f"`jeju-play report {incident_id} --kind update` prints its last state.")
    slot = _slot(incident, only_due)
    if slot is None:
        return None
    request = request_mod.build(root, incident.incident, incident.environment,
                                request_mod.Approval(operator=operator), check=check, origin=origin,
                                runner_vars={"jeju_status_update": _update(incident_id, slot)})
    run_id = new_run_id(f"{incident.incident}-update")
    scrubber = Scrubber(request.environment.secret_values())
    view.scrub = scrubber.text
    record = RunRecord(run_id, scrubber)
    summary = Summary(run_id=run_id, incident=incident.incident, environment=incident.environment,
                      inventory=str(request.environment.path), playbook=str(UPDATE_PLAYBOOK), who=operator,
                      started=now_iso(), check_mode=check, origin=origin, incident_id=incident.id)
    record.write_summary(summary)
    view.start(f"status update of {incident.id} ({incident.incident} on {incident.environment}, run {run_id})"
               + ("  [check mode: nothing is sent]" if check else ""))
    private = Path(tempfile.mkdtemp(prefix=f"jeju-play-{run_id}-"))
    try:
        rc = playbook.run(request, request.policy, view, EventSink(view, record, summary), run_id, record.dir,
                          private, incident=incident.for_playbook(), playbook=root / UPDATE_PLAYBOOK)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    summary.exit_code = 0 if rc == 0 else 1
    summary.outcome = ("checked" if check else "sent") if rc == 0 else "failed"
    summary.message = (f"Status update of {incident.id} for {slot}: "
                       + ("nothing sent (check mode)" if check else "sent" if rc == 0 else
                          f"the playbook failed (rc {rc}); see `jeju-play runs show {run_id}`"))
    summary.ended = now_iso()
    record.scrub_artifacts()
    record.write_summary(summary)
    return Posted(run_id, record.dir, summary.exit_code, slot, summary.message)


def _slot(incident: incidents.Incident, only_due: bool) -> str | None:
    if not only_due:
        return now_iso()
    return next((item.slot for item in due(incident.environment) if item.incident_id == incident.id), None)


def _update(incident_id: str, slot: str) -> dict[str, Any]:
    """What the playbook posts: the runbook's update as reports/update.md.j2 renders it, and the page's status."""
    standing = reports.status(timeline.story(incidents.load(incident_id)))
    return {"slot": slot, "text": reports.render(incident_id, "update"),
            "page_status": PAGE_STATUS.get(standing, "monitoring")}
