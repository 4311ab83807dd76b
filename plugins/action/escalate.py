# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Action plugin for jeju.ops.escalate: hand the incident to humans (the run ends with exit code 3)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("reason", "level", "contact", "facts", "advice"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        reason = args.get("reason")
        if not reason:
            return dict(result, failed=True, msg="jeju.ops.escalate needs a reason.")
        escalation = {
            "reason": reason,
            "level": args.get("level", 2),
            "contact": args.get("contact", ""),
            "advice": args.get("advice", ""),
            "facts": args.get("facts", {}),
        }
        return dict(result, failed=True, escalated=True, escalation=escalation,
                    msg=f"Escalated to level {escalation['level']}: {reason}")
