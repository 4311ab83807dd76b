"""Status updates on the catalog's cadence (runbook: every 15 minutes for P0, 30 for P1).

`jeju-play incidents update ID` posts an open incident's update now; `jeju-play serve` posts each one that falls
due (update_every after the incident's last message). The update is reports/update.md.j2 (status, actions taken,
next steps, ETA) sent by playbooks/comms/status-update.yml to the incident's channels and the status page; nobody
is paged. Each is a run of its own in the record (`jeju-play history`), not one of the incident's runs. A slot
(the due time an update answers) is sent once, whoever tries it and however often (the comms ledger).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jeju_play import incidents, playbook, reports, timeline
from jeju_play import request as request_mod
from jeju_play.errors import BadInput
from jeju_play.events import EventSink
from jeju_play.record import RunRecord, Scrubber, Summary, new_run_id, now_iso
from jeju_play.spawn import start_jeju_play
from jeju_play.view import RunView

UPDATE_PLAYBOOK = Path("playbooks") / "comms" / "status-update.yml"  # jeju-play's own, under the project
PAGE_STATUS = {"Investigating": "investigating", "Identified": "identified"}
CHECK_SECONDS = 10.0  # how often serve, or a run at work, looks for an open incident whose update is due


@dataclass(frozen=True)
class Due:
    """An open incident whose next update is due."""

    incident_id: str
    slot: str  # the due time the update answers


def due(environment: str, base: Path | None = None, now: datetime | None = None) -> list[Due]:
    """The environment's open incidents whose update is overdue (the handoff's update_overdue)."""
    return [Due(item["id"], str(item["update_due"])) for item in incidents.brief(environment, base, now)
            if item["update_overdue"]]


class Poster:
    """Starts each status update that falls due (`jeju-play incidents update ID --due`, its own process, its
    output in logs/<ID>.updates.log): one process per incident at a time; a slot it tried is not started again.
    serve keeps one for its environments; a run at work keeps one for its own incident (Watch)."""

    def __init__(self, logs: Path, environments: list[str], incident_id: str | None = None):
        self.logs = logs
        self.environments = environments
        self.incident_id = incident_id
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.tried: set[tuple[str, str]] = set()
        self.checked: float | None = None

    def tick(self, now: float) -> list[Due]:
        """The updates started now (at most every CHECK_SECONDS)."""
        if self.checked is not None and now - self.checked < CHECK_SECONDS:
            return []
        self.checked = now
        self.children = {k: c for k, c in self.children.items() if c.poll() is None}
        started = []
        for environment in self.environments:
            for item in due(environment):
                if (self.incident_id not in (None, item.incident_id) or item.incident_id in self.children
                        or (item.incident_id, item.slot) in self.tried):
                    continue
                self.tried.add((item.incident_id, item.slot))
                self.children[item.incident_id] = start_jeju_play(
                    ["incidents", "update", item.incident_id, "--due", "--json"],
                    self.logs / f"{item.incident_id}.updates.log")
                started.append(item)
        return started


class Watch:
    """While a run of an open incident works (a gate waiting for its answer, a rollout, a long verify), the
    incident's status updates still go out on the cadence: a thread looks every CHECK_SECONDS and starts the one
    due. What it started is in `started` once the block ends (the run records it; the thread writes no record)."""

    def __init__(self, incident_id: str, environment: str, logs: Path):
        self.poster = Poster(logs, [environment], incident_id)
        self.started: list[Due] = []
        self.trouble: str | None = None  # the last reason a look failed (the run says it)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"updates-{incident_id}", daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self.started.extend(self.poster.tick(time.monotonic()))
            except (OSError, ValueError) as exc:  # an unreadable incident must not end the run; the next look retries
                self.trouble = str(exc)
            self._stop.wait(CHECK_SECONDS)


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
