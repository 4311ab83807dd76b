# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Action plugin for jeju.ops.gate: stop before a dangerous step and wait for a human's answer.

The jeju-play runner passes JEJU_PLAY_GATE_DIR. The plugin writes <id>.request.json there and waits for
<id>.answer.json. It never approves by itself: no answer before the timeout is a refusal.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import datetime, timezone

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

_KINDS = ("restart", "scale", "patch", "delete", "transfer", "pause", "restore", "sequencer", "change")
_POLL_SECONDS = 0.1


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        request = {
            "id": uuid.uuid4().hex,
            "task": self._task.get_name(),
            "description": description,
            "kind": kind,
            "target": args.get("target", ""),
            "change": args.get("change", {}),
            "requested": _now(),
        }
        if self._task.check_mode or self._play_context.check_mode:
            return dict(result, changed=False, would_ask=True, gate=request,
                        msg=f"Check mode: would ask before: {description}")
        timeout = float(args.get("timeout") or task_vars.get("jeju_gate_timeout_seconds") or 300)
        answer = self._ask(request, timeout, task_vars)
        gate = dict(request, answer=answer)
        if answer.get("approved"):
            return dict(result, changed=False, approved=True, gate=gate,
                        msg=f"Approved by {answer.get('who')} ({answer.get('how')}): {description}")
        return dict(result, failed=True, gate_refused=True, gate=gate,
                    msg=f"Refused ({answer.get('how')}, {answer.get('who')}): {description}")

    def _ask(self, request, timeout, task_vars):
        gate_dir = os.environ.get("JEJU_PLAY_GATE_DIR")
        if not gate_dir:
            if boolean(task_vars.get("jeju_gate_preapproved", False), strict=False):
                return {"approved": True, "who": "jeju_gate_preapproved", "how": "pre-approved variable",
                        "when": _now()}
            return {"approved": False, "who": "nobody", "how": "no jeju-play runner to ask", "when": _now()}
        path = os.path.join(gate_dir, request["id"] + ".request.json")
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(request, handle)
        os.replace(path + ".tmp", path)
        answer_path = os.path.join(gate_dir, request["id"] + ".answer.json")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(answer_path):
                with open(answer_path, encoding="utf-8") as handle:
                    return json.load(handle)
            time.sleep(_POLL_SECONDS)
        return {"approved": False, "who": "nobody", "how": f"no answer within {timeout:.0f} s", "when": _now()}
