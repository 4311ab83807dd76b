# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Action plugin for jeju.ops.gate: stop before a dangerous step and wait for a human's answer.

Who answers:
- the jeju-play runner, when it passes JEJU_PLAY_GATE_DIR: the plugin writes <id>.request.json there and waits for
  <id>.answer.json (no answer before the timeout is a refusal);
- otherwise (plain ansible-playbook, AWX / AAP) the approvals given explicitly in the variable
  `jeju_gate_approvals`: each names ONE gate by its approval name `<environment>:<kind>:<target>` (the name the
  gate prints in check mode), so that one answer cannot approve every gate. A gate that no approval names refuses.
It never approves by itself. In check mode it asks nobody: it reports the gate's approval name and publishes
the names as the custom stat `jeju_gate_proposals` (AWX passes it to the next workflow nodes).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from datetime import datetime, timezone

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

_KINDS = ("restart", "scale", "patch", "delete", "transfer", "pause", "restore", "sequencer", "change")
_POLL_SECONDS = 0.1
APPROVALS_VAR = "jeju_gate_approvals"
PROPOSALS_STAT = "jeju_gate_proposals"
# AWX / AAP set these on every job; a blanket pre-approval is never honoured there.
_AWX_JOB_VARS = ("awx_job_id", "tower_job_id")


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def approval_name(environment, kind, target):
    """The name an approval gives to approve this gate: `<environment>:<kind>:<target>`."""
    return f"{environment}:{kind}:{target}"


def parse_approvals(value):
    """`jeju_gate_approvals` as a list of (name, who, note): a list of names or of {gate, by, note} mappings,
    or one string with one name a line (an AWX survey's textarea or multiple choice answer)."""
    if value is None or value == "":
        return [], None
    if isinstance(value, str):
        value = [line for line in value.splitlines() if line.strip()]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return [], f"{APPROVALS_VAR} must be a list of gate approval names, not {type(value).__name__}"
    approvals = []
    for item in value:
        if isinstance(item, dict):
            name, who, note = item.get("gate"), item.get("by"), item.get("note")
        else:
            name, who, note = item, None, None
        if not isinstance(name, str) or not name.strip():
            return [], f"{APPROVALS_VAR}: every approval names a gate (`gate: <environment>:<kind>:<target>`)"
        approvals.append((name.strip(), to_text(who) if who else None, to_text(note) if note else None))
    return approvals, None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("description", "change", "kind", "target", "timeout"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        description = args.get("description")
        kind = args.get("kind", "change")
        if not description:
            return dict(result, failed=True, msg="jeju.ops.gate needs a description of the dangerous step.")
        if kind not in _KINDS:
            return dict(result, failed=True, msg=f"jeju.ops.gate kind must be one of {', '.join(_KINDS)}.")
        environment = to_text(self._var(task_vars, "jeju_environment") or "unknown")
        target = to_text(args.get("target") or "")
        request = {
            "id": uuid.uuid4().hex,
            "task": self._task.get_name(),
            "description": description,
            "kind": kind,
            "target": target,
            "change": args.get("change", {}),
            "approval": approval_name(environment, kind, target),
            "requested": _now(),
        }
        if self._task.check_mode or self._play_context.check_mode:
            return dict(result, changed=False, would_ask=True, gate=request,
                        ansible_stats={"data": {PROPOSALS_STAT: [request["approval"]]}, "per_host": False,
                                       "aggregate": True},
                        msg=f"Check mode: would ask before: {description} (approval name: {request['approval']})")
        if os.environ.get("JEJU_PLAY_GATE_DIR"):
            timeout = float(args.get("timeout") or task_vars.get("jeju_gate_timeout_seconds") or 300)
            answer = self._ask_runner(request, timeout)
        else:
            answer = self._given_approval(request, task_vars)
        gate = dict(request, answer=answer)
        if answer.get("approved"):
            return dict(result, changed=False, approved=True, gate=gate,
                        msg=f"Approved by {answer.get('who')} ({answer.get('how')}): {description}")
        return dict(result, failed=True, gate_refused=True, gate=gate,
                    msg=f"Refused ({answer.get('how')}, {answer.get('who')}): {description}")

    def _var(self, task_vars, name):
        """A variable's value, templated (`jeju_gate_approvals: "{{ jeju_gate_proposals }}"` in a job template)."""
        value = task_vars.get(name)
        return self._templar.template(value) if isinstance(value, str) and "{" in value else value

    def _given_approval(self, request, task_vars):
        """No runner to ask: approved only when `jeju_gate_approvals` names this gate."""
        try:
            approvals, problem = parse_approvals(self._var(task_vars, APPROVALS_VAR))
        except Exception as exc:  # an approvals template that does not render approves nothing
            approvals, problem = [], f"{APPROVALS_VAR} could not be read: {to_text(exc)}"
        if problem:
            return {"approved": False, "who": "nobody", "how": problem, "when": _now()}
        jobs = ((name, self._var(task_vars, name)) for name in _AWX_JOB_VARS)
        job = next((f"{name} {value}" for name, value in jobs if value not in (None, "")), None)
        for name, who, note in approvals:
            if name == request["approval"]:
                launched_by = self._var(task_vars, "awx_user_name") or self._var(task_vars, "tower_user_name")
                how = f"{APPROVALS_VAR} ({job})" if job else APPROVALS_VAR
                answer = {"approved": True, "who": who or launched_by or "unnamed approver", "how": how,
                          "when": _now()}
                return dict(answer, note=note) if note else answer
        if self._preapproved(task_vars, job):
            return {"approved": True, "who": "jeju_gate_preapproved", "how": "pre-approved variable (tests only)",
                    "when": _now()}
        named = ", ".join(name for name, _who, _note in approvals) or "none"
        return {"approved": False, "who": "nobody",
                "how": f"no approval names {request['approval']!r} in {APPROVALS_VAR} (given: {named})",
                "when": _now()}

    def _preapproved(self, task_vars, job):
        """The blanket switch molecule and a few tests use: never on production, never in an AWX job."""
        if not boolean(self._var(task_vars, "jeju_gate_preapproved") or False, strict=False):
            return False
        return not job and not boolean(self._var(task_vars, "jeju_production") or False, strict=False)

    def _ask_runner(self, request, timeout):
        gate_dir = os.environ["JEJU_PLAY_GATE_DIR"]
        path = os.path.join(gate_dir, request["id"] + ".request.json")
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(request, handle)
        os.replace(path + ".tmp", path)
        answer_path = os.path.join(gate_dir, request["id"] + ".answer.json")
        deadline = time.monotonic() + timeout
        runner = int(os.environ.get("JEJU_PLAY_RUNNER_PID") or 0)
        while time.monotonic() < deadline:
            if os.path.exists(answer_path):
                with open(answer_path, encoding="utf-8") as handle:
                    return json.load(handle)
            if runner and not _alive(runner):  # the run died: nobody can answer, nothing goes on unwatched
                return {"approved": False, "who": "nobody", "how": f"the jeju-play run (pid {runner}) is gone",
                        "when": _now()}
            time.sleep(_POLL_SECONDS)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # nobody may answer it any more: the runner stops listing it
        return {"approved": False, "who": "nobody", "how": f"no answer within {timeout:.0f} s", "when": _now(),
                "timed_out": True}
