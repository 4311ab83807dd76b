"""One pass through a run, each step calling only downward:

    request (built by jeju_play.request)  ->  guards: the freeze (refused before anything is recorded)
    ->  record opened (with the content state: commit, tree, signature)  ->  guards: the cluster's identity,
    the content's review (production: jeju_play.review, or --unreviewed approved at an extra gate), the
    remediation lock  ->  the playbook through ansible-runner (events to the view and the record, gates
    answered)  ->  the verdict  ->  (a gate nobody answered in an alert-started run: the escalation level
    told, playbooks/comms/gate-unanswered.yml)  ->  the record closed.

An incident that is not automated yet prints the runbook's manual steps instead (exit 3).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jeju_play import guards, incidents, playbook, review, unfinished, updates, verdict
from jeju_play.errors import ExitCode, JejuPlayError, Refused
from jeju_play.events import EventSink
from jeju_play.gates import GATE_TAKEOVER, GATE_UNREVIEWED
from jeju_play.lock import LEASE_NAME, DeadHolder
from jeju_play.record import RunRecord, Scrubber, Summary, new_run_id, now_iso
from jeju_play.request import RunRequest
from jeju_play.runbook import find_section
from jeju_play.view import RunView

UNANSWERED_PLAYBOOK = Path("playbooks") / "comms" / "gate-unanswered.yml"  # jeju-play's own, under the project


@dataclass
class RunOutcome:
    summary: Summary
    record_dir: Path

    @property
    def exit_code(self) -> int:
        return int(self.summary.exit_code or 0)


def execute(request: RunRequest, view: RunView) -> RunOutcome:
    env, incident = request.environment, request.incident
    warning = guards.refuse_if_frozen(env, incident, request.check)  # raises Refused: nothing recorded
    if warning:
        view.note(warning, style="yellow")
    run_id = request.run_id or new_run_id(incident.name)
    scrubber = Scrubber(env.secret_values())
    view.scrub = scrubber.text
    record = RunRecord(run_id, scrubber)
    summary = Summary(run_id=run_id, incident=incident.name, environment=env.name, inventory=str(env.path),
                      playbook=incident.playbook, who=request.policy.operator, started=now_iso(),
                      check_mode=request.check, origin=request.origin, alerts=request.alerts)
    opened = incidents.begin(incident, env.name, run_id, check=request.check, origin=request.origin)
    summary.incident_id = opened.id if opened else None
    record.write_summary(summary)
    if not incident.automated:
        return _attach(opened, request, record, _hand_to_humans(request, view, record, summary))
    content = review.inspect(request.root, review.Settings.of(env))
    summary.content = content.as_record()
    record.write_summary(summary)
    try:
        with guards.held(env, incident, request.policy, request.check, holder=f"{request.policy.operator} run {run_id}",
                         confirm_content=lambda: _require_reviewed(request, view, record, summary, content),
                         run_id=run_id, confirm_dead=lambda dead: _take_over_dead(request, view, record, summary,
                                                                                  dead)) as held:
            if held.replaced_run and unfinished.mark_interrupted(held.replaced_run, found_by=run_id):
                view.note(f"Run {held.replaced_run} never ended (its lock was left behind): its record is marked "
                          f"interrupted. It had done: {unfinished.account(held.replaced_run)}", style="yellow")
                record.append_event({"time": now_iso(), "event": "unfinished_run_marked", "run": held.replaced_run})
            if held.lock_taken_from and not held.replaced_run:
                view.note(f"Took the remediation lock over from {held.lock_taken_from}: {incident.name} does not "
                          "wait. That run's remaining gates are refused while the freeze stands.", style="bold yellow")
                record.append_event({"time": now_iso(), "event": "lock_taken_over", "from": held.lock_taken_from})
            sink = EventSink(view, record, summary)
            view.start(f"{incident.name} on {env.name}  (run {run_id})"
                       + ("  [check mode: nothing changes]" if request.check else ""))
            private = Path(tempfile.mkdtemp(prefix=f"jeju-play-{run_id}-"))
            try:
                with _updates_while_working(opened, request, view, record):
                    rc = playbook.run(request, held.policy, view, sink, run_id, record.dir, private,
                                      incident=opened.for_playbook() if opened else None)
            finally:
                shutil.rmtree(private, ignore_errors=True)
    except JejuPlayError as exc:
        return _attach(opened, request, record, _end_before_start(summary, record, exc))
    verdict.conclude(summary, sink, rc, request.check,
                     unanswered_escalates_to=incident.escalation if request.origin == "alert" else None)
    if opened is not None and summary.escalation and summary.escalation.get("unanswered_gate"):
        _tell_unanswered(request, view, record, summary, opened.for_playbook())
    record.scrub_artifacts()
    record.write_summary(summary)
    return _attach(opened, request, record, RunOutcome(summary, record.dir))


@contextmanager
def _updates_while_working(opened: incidents.Incident | None, request: RunRequest, view: RunView,
                           record: RunRecord) -> Iterator[None]:
    """The incident's status updates keep their cadence while the playbook works (not in check mode: it sends
    nothing); each one started is recorded in this run once the playbook ends."""
    if opened is None or request.check:
        yield
        return
    with updates.Watch(opened.id, request.environment.name, record.dir / "artifacts") as watch:
        yield
    for item in watch.started:
        record.append_event({"time": now_iso(), "event": "status_update_started", "incident": item.incident_id,
                             "slot": item.slot, "log": f"artifacts/{item.incident_id}.updates.log"})
        view.note(f"{item.incident_id}'s status update for {item.slot} fell due while this run worked: it went "
                  f"out on its own (`jeju-play incidents show {item.incident_id}`).")
    if watch.trouble:
        view.note(f"Could not look for {opened.id}'s due status update: {watch.trouble}. serve, or `jeju-play "
                  f"incidents update {opened.id} --due`, posts it.", style="yellow")


def _require_reviewed(request: RunRequest, view: RunView, record: RunRecord, summary: Summary,
                      state: review.ContentState) -> None:
    """On production, refuse unreviewed content unless --unreviewed was given and its extra gate approved (raises
    Refused, before the lock and any change)."""
    env = request.environment
    if state.reviewed or not env.production:
        return
    if not request.unreviewed:
        raise review.refusal(env, state)
    if not _runner_gate(request, view, record, summary, review.gate_request(env, state),
                        GATE_UNREVIEWED.task):
        raise review.refusal(env, state)


def _take_over_dead(request: RunRequest, view: RunView, record: RunRecord, summary: Summary,
                    dead: DeadHolder) -> bool:
    """The Lease's holder died mid-run: show what its record says it had done and ask (a gate) before taking the
    lock over; refused or nobody to ask raises Refused with the same account (exit 4, nothing changed)."""
    done = unfinished.account(dead.run_id)
    gate = {"id": "dead-run-lock", "kind": GATE_TAKEOVER.kind, "target": f"Lease {LEASE_NAME}",
            "description": f"Take the remediation lock over from {dead.describe()}, which died mid-run. It had "
                           f"done: {done}",
            "change": {"lease": LEASE_NAME, "from": dead.holder}}
    if _runner_gate(request, view, record, summary, gate, GATE_TAKEOVER.task):
        return True
    raise Refused(f"The remediation lock on {request.environment.name} is held by {dead.describe()}: it died "
                  f"mid-run. It had done: {done}. Nothing was changed. Check the chain and the cluster, then run "
                  f"again at a terminal to confirm taking the lock over (or with --yes), or wait until the Lease "
                  f"expires at {dead.expires}.")


def _runner_gate(request: RunRequest, view: RunView, record: RunRecord, summary: Summary, gate: dict[str, Any],
                 task: str) -> bool:
    """A gate the runner itself asks before the playbook starts, answered and recorded as the playbook's are."""
    if request.policy.ask is not None and not request.policy.preapproved:
        view.show_gate(gate)
    answer = request.policy.decide(gate)
    if answer is None:
        how = "--yes-i-mean " + request.environment.name if request.environment.production else "--yes"
        answer = {"approved": False, "who": "jeju-play", "how": f"nobody could be asked (no terminal, no {how})",
                  "when": now_iso()}
    entry = {"task": task, **{k: gate.get(k) for k in ("description", "kind", "target", "change")},
             "decision": "approved" if answer.get("approved") else "refused", "answer": answer}
    record.append_approval({"run_id": summary.run_id, **entry})
    summary.gates.append(entry)
    view.gate(entry)
    return bool(answer.get("approved"))


def _tell_unanswered(request: RunRequest, view: RunView, record: RunRecord, summary: Summary,
                     incident: dict[str, Any]) -> None:
    """The playbook stopped at a gate nobody answered: tell the escalation level (playbooks/comms/), recorded in
    the same run. Its own failure never changes the verdict (comms never fails a run)."""
    notify = request.root / UNANSWERED_PLAYBOOK
    escalation = summary.escalation or {}
    if not notify.is_file():
        return
    told = replace(request, extra_vars={**request.extra_vars, "jeju_unanswered": {
        "gate": escalation.get("unanswered_gate"), "waited": escalation.get("waited"),
        "level": escalation.get("level"), "advice": escalation.get("advice"), "cause": summary.cause}})
    private = Path(tempfile.mkdtemp(prefix=f"jeju-play-{summary.run_id}-tell-"))
    try:
        playbook.run(told, request.policy, view, EventSink(view, record, summary), summary.run_id, record.dir,
                     private, incident=incident, playbook=notify)
    except (JejuPlayError, OSError) as exc:  # telling people must not cost the run its verdict or its record
        view.note(f"Could not tell the escalation level that the gate went unanswered: {exc}", style="yellow")
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _attach(opened: incidents.Incident | None, request: RunRequest, record: RunRecord,
            outcome: RunOutcome) -> RunOutcome:
    """The run's outcome goes into its incident, which it confirms, closes, or (found healthy) drops; the summary
    then names the incident only if it still exists."""
    if opened is not None:
        kept = incidents.conclude(opened, request.incident, outcome.summary)
        outcome.summary.incident_id = kept.id if kept else None
        outcome.summary.incident_closed = bool(kept and not kept.is_open)
        record.write_summary(outcome.summary)
    return outcome


def _end_before_start(summary: Summary, record: RunRecord, exc: JejuPlayError) -> RunOutcome:
    """A guard stopped the run before the playbook started (the lock is held, the cluster unreachable)."""
    summary.outcome = "refused" if exc.exit_code == ExitCode.REFUSED else "failed"
    summary.exit_code = int(exc.exit_code)
    summary.message = str(exc)
    summary.ended = now_iso()
    record.write_summary(summary)
    return RunOutcome(summary, record.dir)


def _hand_to_humans(request: RunRequest, view: RunView, record: RunRecord, summary: Summary) -> RunOutcome:
    """An incident that is not automated yet: print the runbook's manual steps, record it, exit 3."""
    section = find_section(request.root / "docs" / "runbook.md", request.incident.runbook)
    steps = section.body if section else "(runbook section not found)"
    (record.dir / "artifacts" / "manual-steps.md").write_text(
        f"## {request.incident.runbook}\n\n{steps}\n", encoding="utf-8")
    view.note(f"'{request.incident.name}' is not automated yet. Follow the runbook by hand: "
              f"\"{request.incident.runbook}\"", style="bold yellow")
    if not view.quiet:
        view.console.print(steps, markup=False, highlight=False)
    summary.outcome = "handed to humans"
    summary.exit_code = int(ExitCode.ESCALATED)
    summary.message = f"Not automated yet: follow the runbook section \"{request.incident.runbook}\"."
    summary.ended = now_iso()
    record.write_summary(summary)
    return RunOutcome(summary, record.dir)
