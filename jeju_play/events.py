"""The event sink: ansible-runner events in, view updates, record lines and what the run learned out.

What the run learned comes from the facts the `incident` role sets (incident_cause, incident_tried,
incident_verified, incident_failed), from gate results and from jeju.ops.escalate: the verdict reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jeju_play.record import PhaseResult, RunRecord, Summary, now_iso
from jeju_play.view import RunView

PHASES = ("preflight", "diagnose", "decide", "remediate", "verify", "record")
_TASK_END = {"runner_on_ok": "ok", "runner_on_failed": "failed", "runner_on_skipped": "skipped",
             "runner_on_unreachable": "unreachable"}
_RECORDED = ("runner_on_", "playbook_on_play_start", "playbook_on_stats", "playbook_on_start")


def phase_of(play_name: str) -> str:
    """Plays are named '<Phase>: what it does'; the phase drives the summary's per-phase results."""
    head = play_name.split(":", 1)[0].strip().lower()
    return head if head in PHASES else "other"


def _failure_text(msg: Any) -> str:
    """A task's failure as a person reads it: without the Python traceback Ansible appends, a Kubernetes API
    Status body said in words, at most 6 lines."""
    text = str(msg).split("\nOriginal traceback", 1)[0].split("\nHTTP response headers", 1)[0].rstrip()
    text = _kube_status(text)
    lines = text.splitlines()
    return "\n".join(lines[:6] + (["..."] if len(lines) > 6 else []))


def _kube_status(text: str) -> str:
    """kubernetes.core's 'Failed to patch object: {"kind": "Status", ...}' as 'Failed to patch object: the
    Kubernetes API answered 429 TooManyRequests: the server has received too many requests...'."""
    import json

    start = text.find('{"kind": "Status"')
    if start < 0:
        start = text.find('{"kind":"Status"')
    if start < 0:
        return text
    try:
        status, _end = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return text
    said = (f"the Kubernetes API answered {status.get('code', '?')} {status.get('reason', '')}: "
            f"{status.get('message', '')}")
    return (text[:start] + said).strip()


def _said(msg: Any) -> str:
    if isinstance(msg, str):
        return msg
    import yaml

    return str(yaml.safe_dump(msg, sort_keys=False, default_flow_style=False, width=100)).rstrip()


@dataclass
class Learned:
    """What the playbook told the runner, fact by fact."""

    cause: dict[str, Any] | None = None
    tried: list[str] = field(default_factory=list)
    proof: str = ""
    failure: str = ""


class EventSink:
    def __init__(self, view: RunView, record: RunRecord, summary: Summary):
        self.view = view
        self.record = record
        self.summary = summary
        self.refused: dict[str, Any] | None = None
        self.escalated: dict[str, Any] | None = None
        self.interrupted = False
        self.failures: list[str] = []
        self.retried: dict[str, int] = {}  # task:host -> failed attempts asked again
        self.learned = Learned()
        self.play = ""

    def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("event", "")
        data = event.get("event_data", {})
        if kind == "playbook_on_play_start":
            self.play = data.get("play", "")
            self.view.phase(phase_of(self.play), self.play.split(":", 1)[-1].strip() if ":" in self.play else "")
        phase = phase_of(data.get("play", self.play))
        key = f"{data.get('task_uuid', '')}:{data.get('host', '')}"
        if kind == "runner_on_start":
            self.view.task_started(key, phase, data.get("task", ""))
        elif kind in _TASK_END:
            self._task_end(kind, key, phase, data)
        elif kind == "runner_retry":
            self._retry(key, phase, event, data)
        if kind.startswith(_RECORDED):
            self.record.append_event(self._slim(kind, phase, event, data))

    def _task_end(self, kind: str, key: str, phase: str, data: dict[str, Any]) -> None:
        res = data.get("res") or {}
        status = _TASK_END[kind]
        ignored = status == "failed" and bool(data.get("ignore_errors"))
        if status == "ok" and res.get("changed"):
            status = "changed"
        if ignored:
            status = "ignored"
        action = str(data.get("task_action", ""))
        message = _failure_text(res.get("msg", "")) if status in ("failed", "unreachable", "ignored") else ""
        if message and self.retried.get(key):
            message += f" (asked again {self.retried[key]} times)"
        if status == "ok" and action.rsplit(".", maxsplit=1)[-1] == "debug":
            message = _said(res.get("msg", ""))  # a playbook's debug message is meant for the user
        self.view.task_finished(key, status, data.get("duration"), action, message)
        self._failover(res)
        self._count(phase, status, data, message)
        self._learn(res.get("ansible_facts") or {})
        gate = res.get("gate")
        if isinstance(gate, dict):
            self._gate(gate, res, handled=status == "ok")
        if res.get("escalated") and not ignored:
            self.escalated = res.get("escalation", {"reason": message})

    def _failover(self, res: dict[str, Any]) -> None:
        """A read that an RPC endpoint failed and another served (the chain modules' endpoint and endpoints_tried,
        kept in the record with the result): said under the task, so the on-call sees the primary is down."""
        tried = res.get("endpoints_tried")
        if not isinstance(tried, list) or not res.get("endpoint"):
            return
        failed = [t for t in tried if isinstance(t, dict) and t.get("error") and t.get("url") != res["endpoint"]]
        if failed:
            down = "; ".join(f"{t.get('url')}: {str(t.get('error')).splitlines()[0][:80]}" for t in failed)
            self.view.note(f"  read from {res['endpoint']} ({down})", "yellow")

    def _retry(self, key: str, phase: str, event: dict[str, Any], data: dict[str, Any]) -> None:
        """A task that failed and is asked again (until/retries, e.g. the Kubernetes API's 500 or 429): said and
        recorded, so a slow step is never a silent one. A wait polling for its condition is neither."""
        res = data.get("res") or {}
        if not (res.get("failed") or res.get("msg") or res.get("reason")):  # a retry's result has no `failed`
            return
        why = str(res.get("reason") or "").strip() or (_failure_text(res.get("msg", "")).splitlines() or ["failed"])[0]
        left = int(res.get("retries", 0)) - int(res.get("attempts", 0))
        self.retried[key] = self.retried.get(key, 0) + 1
        if self.retried[key] == 1:  # said once per task (a verify polling a down RPC would say it 15 times)
            self.view.note(f"  {data.get('task', '')}: {why[:120]}; asked again ({left} more at most)", "yellow")
        self.record.append_event(self._slim("runner_retry", phase, event, data))

    def _count(self, phase: str, status: str, data: dict[str, Any], message: str) -> None:
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

    def _learn(self, facts: dict[str, Any]) -> None:
        if isinstance(facts.get("incident_cause"), dict):
            self.learned.cause = facts["incident_cause"]
            self.view.cause(facts["incident_cause"])
        if isinstance(facts.get("incident_tried"), list):
            self.learned.tried = [str(t) for t in facts["incident_tried"]]
        if facts.get("incident_verified"):
            self.learned.proof = str(facts["incident_verified"])
        if facts.get("incident_failed"):
            self.learned.failure = str(facts["incident_failed"])

    def _gate(self, gate: dict[str, Any], res: dict[str, Any], handled: bool = False) -> None:
        """A refused gate ends the run as refused, unless the playbook handled the refusal (failed_when on the gate
        task) and goes on with its own next step, e.g. an escalation with the command to run."""
        answer = gate.get("answer")
        entry = {k: gate.get(k) for k in ("task", "description", "kind", "target", "change")}
        if res.get("would_ask"):
            entry["decision"] = "would ask (check mode)"
        elif answer:
            entry.update(decision="approved" if answer.get("approved") else "refused", answer=answer)
            self.record.append_approval({"run_id": self.summary.run_id, **entry})
        self.summary.gates.append(entry)
        self.view.gate(entry)
        if res.get("gate_refused") and not handled:
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
