"""Run one incident's playbook through ansible-runner, with gates, a live view and a record."""

from __future__ import annotations

import os
import queue
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jeju_play.catalog import Incident
from jeju_play.environments import Environment
from jeju_play.errors import ExitCode, JejuPlayError
from jeju_play.gates import ApprovalPolicy, GateKeeper
from jeju_play.lock import TAKES_OVER, RemediationLock
from jeju_play.paths import PACKAGE_DIR, collections_dir
from jeju_play.record import PhaseResult, RunRecord, Scrubber, Summary, new_run_id, now_iso
from jeju_play.runbook import find_section
from jeju_play.view import RunView

PHASES = ("preflight", "diagnose", "decide", "remediate", "verify", "record")
_TASK_END = {"runner_on_ok": "ok", "runner_on_failed": "failed", "runner_on_skipped": "skipped",
             "runner_on_unreachable": "unreachable"}
_POLL_SECONDS = 0.05
_SAY_ACTIONS = ("ansible.builtin.debug", "debug")
_QUIET_ACTIONS = ("ansible.builtin.validate_argument_spec", "validate_argument_spec")


@dataclass
class RunRequest:
    incident: Incident
    environment: Environment
    root: Path
    check: bool = False
    extra_vars: dict[str, Any] = field(default_factory=dict)
    verbosity: int = 0


@dataclass
class RunOutcome:
    summary: Summary
    record_dir: Path

    @property
    def exit_code(self) -> int:
        return int(self.summary.exit_code or 0)


def _said(msg: Any) -> str:
    if isinstance(msg, str):
        return msg
    import yaml

    return str(yaml.safe_dump(msg, sort_keys=False, default_flow_style=False, width=110)).rstrip()


def phase_of(play_name: str) -> str:
    """Plays are named '<Phase>: what it does'; the phase drives the summary's per-phase results."""
    head = play_name.split(":", 1)[0].strip().lower()
    return head if head in PHASES else "other"


class _EventSink:
    """Turns ansible-runner events into view updates, record lines and the run's verdict."""

    def __init__(self, view: RunView, record: RunRecord, summary: Summary):
        self.view = view
        self.record = record
        self.summary = summary
        self.refused: dict[str, Any] | None = None
        self.escalated: dict[str, Any] | None = None
        self.interrupted = False
        self.failures: list[str] = []
        self.play = ""

    def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("event", "")
        data = event.get("event_data", {})
        if kind == "playbook_on_play_start":
            self.play = data.get("play", "")
        phase = phase_of(data.get("play", self.play))
        key = f"{data.get('task_uuid', '')}:{data.get('host', '')}"
        if kind == "runner_on_start":
            self.view.task_started(key, phase, data.get("task", ""), data.get("host", ""))
        elif kind in _TASK_END:
            self._task_end(kind, key, phase, data)
        if kind.startswith(("runner_on_", "playbook_on_play_start", "playbook_on_stats", "playbook_on_start")):
            self.record.append_event(self._slim(kind, phase, event, data))

    def _task_end(self, kind: str, key: str, phase: str, data: dict[str, Any]) -> None:
        res = data.get("res") or {}
        status = _TASK_END[kind]
        ignored = status == "failed" and data.get("ignore_errors")
        if status == "ok" and res.get("changed"):
            status = "changed"
        if ignored:
            status = "ignored"
        message = str(res.get("msg", "")) if status in ("failed", "unreachable", "ignored") else ""
        if status == "ok" and data.get("task_action") in _SAY_ACTIONS:
            message = _said(res.get("msg", ""))  # a playbook's debug message is meant for the user
        if status == "ok" and data.get("task_action") in _QUIET_ACTIONS:
            self.view.forget(key)  # role argument checks that passed are noise at 3 a.m.
        else:
            self.view.task_finished(key, status, data.get("duration"), message)
        result = self.summary.phases.setdefault(phase, PhaseResult())
        if status in ("failed", "unreachable"):
            result.failed += 1
            self.failures.append(f"{data.get('task', '')}: {message}")
        elif status == "changed":
            result.changed += 1
        elif status in ("ok", "ignored"):
            result.ok += 1
        else:
            result.skipped += 1
        gate = res.get("gate")
        if isinstance(gate, dict):
            self._gate(gate, res)
        if res.get("escalated") and not ignored:
            self.escalated = res.get("escalation", {"reason": message})

    def _gate(self, gate: dict[str, Any], res: dict[str, Any]) -> None:
        answer = gate.get("answer")
        entry = {k: gate.get(k) for k in ("task", "description", "kind", "target", "change")}
        if res.get("would_ask"):
            entry["decision"] = "would ask (check mode)"
        elif answer:
            entry.update(decision="approved" if answer.get("approved") else "refused", answer=answer)
            self.record.append_approval({"run_id": self.summary.run_id, **entry})
        self.summary.gates.append(entry)
        if res.get("gate_refused"):
            self.refused = entry

    @staticmethod
    def _slim(kind: str, phase: str, event: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        slim: dict[str, Any] = {"time": event.get("created") or now_iso(), "event": kind, "phase": phase}
        for name in ("play", "task", "task_action", "host", "duration", "ignore_errors"):
            if data.get(name) is not None:
                slim[name] = data[name]
        if "res" in data:
            slim["res"] = data["res"]
        if kind == "playbook_on_stats":
            slim["stats"] = {k: data.get(k) for k in ("ok", "changed", "failures", "skipped", "dark")}
        return slim


def hand_to_humans(request: RunRequest, view: RunView, record: RunRecord, summary: Summary) -> RunOutcome:
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


def execute(request: RunRequest, policy: ApprovalPolicy, view: RunView) -> RunOutcome:
    env = request.environment
    run_id = new_run_id(request.incident.name)
    scrubber = Scrubber(env.secret_values())
    record = RunRecord(run_id, scrubber)
    summary = Summary(run_id=run_id, incident=request.incident.name, environment=env.name,
                      inventory=str(env.path), playbook=request.incident.playbook, who=policy.operator,
                      started=now_iso(), check_mode=request.check)
    record.write_summary(summary)
    if not request.incident.automated:
        return hand_to_humans(request, view, record, summary)
    lock = None if request.check or "jeju_kube_context" not in env.variables else (
        RemediationLock(env, holder=f"{policy.operator} run {run_id}",
                        take_over=request.incident.name in TAKES_OVER))
    try:
        if lock is not None:
            lock.acquire()
    except JejuPlayError as exc:
        return _end_before_start(summary, record, exc)
    if lock is not None and lock.taken_from:
        view.note(f"Took the remediation lock over from {lock.taken_from}: {request.incident.name} does not wait. "
                  "That run's remaining gates are refused while the freeze stands.", style="bold yellow")
        record.append_event({"time": now_iso(), "event": "lock_taken_over", "from": lock.taken_from})
    if not request.check:
        from jeju_play.freeze import standing_guard

        policy = replace(policy, guard=standing_guard(env, request.incident.name))
    sink = _EventSink(view, record, summary)
    private = Path(tempfile.mkdtemp(prefix=f"jeju-play-{run_id}-"))
    try:
        rc = _run_playbook(request, policy, view, sink, record, private)
    finally:
        shutil.rmtree(private, ignore_errors=True)
        if lock is not None:
            lock.release()
    _conclude(summary, sink, rc, request.check)
    record.scrub_artifacts()
    record.write_summary(summary)
    return RunOutcome(summary, record.dir)


def _end_before_start(summary: Summary, record: RunRecord, exc: JejuPlayError) -> RunOutcome:
    """A guard stopped the run before the playbook started (the lock is held, the cluster unreachable)."""
    summary.outcome = "refused" if exc.exit_code == ExitCode.REFUSED else "failed"
    summary.exit_code = int(exc.exit_code)
    summary.message = str(exc)
    summary.ended = now_iso()
    record.write_summary(summary)
    return RunOutcome(summary, record.dir)


def _run_playbook(request: RunRequest, policy: ApprovalPolicy, view: RunView, sink: _EventSink,
                  record: RunRecord, private: Path) -> int:
    import ansible_runner  # heavy: imported only when a playbook really runs

    gate_dir = private / "gates"
    gate_dir.mkdir()
    keeper = GateKeeper(gate_dir, policy)
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    cmdline = ["--check", "--diff"] if request.check else []
    if request.verbosity:
        cmdline.append("-" + "v" * min(request.verbosity, 4))
    extravars = {
        **request.extra_vars,
        "ansible_python_interpreter": sys.executable,
        "jeju_run_id": record.run_id,
        "jeju_run_dir": str(record.dir),
        "jeju_project_root": str(request.root),
    }
    cancel = threading.Event()
    thread, runner = ansible_runner.run_async(
        private_data_dir=str(private),
        playbook=str(request.root / request.incident.playbook),
        inventory=str(request.environment.path),
        extravars=extravars,
        envvars=_envvars(gate_dir),
        cmdline=" ".join(cmdline) or None,
        event_handler=lambda event: _enqueue(events, event),
        cancel_callback=cancel.is_set,
        quiet=True,
        suppress_env_files=True,
    )
    view.start(f"{request.incident.name} on {request.environment.name}  (run {record.run_id})"
               + ("  [check mode: nothing changes]" if request.check else ""))
    waiting_noted: set[str] = set()
    try:
        while thread.is_alive() or not events.empty():
            try:
                _drain(events, sink)
                _answer_gates(keeper, view, waiting_noted)
                time.sleep(_POLL_SECONDS)
            except KeyboardInterrupt:
                cancel.set()
                sink.interrupted = True
                view.note("Interrupted: stopping the playbook. What already ran stays done; see the record.",
                          style="bold yellow")
        thread.join()
        _drain(events, sink)
    finally:
        view.stop()
    return int(runner.rc if runner.rc is not None else 1)


def _answer_gates(keeper: GateKeeper, view: RunView, waiting_noted: set[str]) -> None:
    for req, answer in keeper.poll():
        view.note(f"Gate '{req['task']}': {'approved' if answer['approved'] else 'refused'} "
                  f"by {answer['who']} ({answer['how']})")
    for gate_id, req in keeper.pending.items():
        if gate_id not in waiting_noted:
            waiting_noted.add(gate_id)
            view.note(f"Waiting for approval of '{req['description']}' (no terminal to ask; it is refused when "
                      "the gate's timeout runs out). Re-run with --yes to pre-approve.", style="yellow")


def _enqueue(events: queue.Queue[dict[str, Any]], event: dict[str, Any]) -> bool:
    events.put(event)
    return True  # keep ansible-runner's own copy of the event too


def _drain(events: queue.Queue[dict[str, Any]], sink: _EventSink) -> None:
    while True:
        try:
            sink.handle(events.get_nowait())
        except queue.Empty:
            return


def _envvars(gate_dir: Path) -> dict[str, str]:
    source_root = PACKAGE_DIR.parent
    return {
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        "ANSIBLE_CONFIG": str(source_root / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(collections_dir()) + os.pathsep + str(_site_collections()),
        "ANSIBLE_ROLES_PATH": str(source_root / "roles"),
        "ANSIBLE_NOCOLOR": "1",
        "JEJU_PLAY_GATE_DIR": str(gate_dir),
    }


def _site_collections() -> Path:
    """Where the `ansible` pip package put kubernetes.core and community.general."""
    import importlib.util

    spec = importlib.util.find_spec("ansible_collections")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]).parent if locations else Path(sys.prefix)


def _conclude(summary: Summary, sink: _EventSink, rc: int, check: bool) -> None:
    summary.ended = now_iso()
    if sink.interrupted:
        summary.outcome, summary.exit_code = "interrupted", int(ExitCode.REFUSED)
        summary.message = "Interrupted by the operator; the steps that ran before are in the record."
    elif sink.refused is not None:
        summary.outcome, summary.exit_code = "refused", int(ExitCode.REFUSED)
        summary.message = f"Refused at gate: {sink.refused.get('description')}. Nothing after it ran."
        answer = sink.refused.get("answer") or {}
        if answer.get("who") == "jeju-play":  # a guard, not a human, refused it: say why
            summary.message += f" {answer.get('how', '')}"
    elif sink.escalated is not None:
        summary.outcome, summary.exit_code = "escalated", int(ExitCode.ESCALATED)
        summary.message = f"Escalated: {sink.escalated.get('reason')}"
        summary.escalation = {k: sink.escalated.get(k) for k in ("level", "contact", "advice")}
    elif rc != 0:
        summary.outcome, summary.exit_code = "failed", int(ExitCode.FAILED)
        # The failure that ended the run; one caught by a block's rescue is already restated by it.
        summary.message = sink.failures[-1] if sink.failures else f"ansible-playbook exited with {rc}"
    elif check:
        summary.outcome, summary.exit_code = "plan shown", int(ExitCode.OK)
        summary.message = "Check mode: diagnosis done, nothing changed."
    else:
        summary.outcome, summary.exit_code = "verified", int(ExitCode.OK)
        summary.message = ("Playbook completed and its verify phase passed." if "verify" in summary.phases
                           else "Playbook completed; the report is in the record.")
