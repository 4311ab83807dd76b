# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Run a jeju.ops module's own code in the controller, through an action plugin of the same name.

A module task forks a Python process and unpacks AnsiballZ (0.4-0.9 s here). The modules whose work is HTTP
from the machine running jeju-play (the notifications: chat_message, pagerduty_event, statuspage; the chain
reads of chain_probe) run here instead, on the same argument spec (defaults, choices, no_log), with exit_json /
fail_json caught: the result is what the module would return. Such requests always go from the controller,
never from a managed host, so nothing is lost by not shipping the module.
"""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase


class _Done(Exception):
    def __init__(self, result):
        super().__init__("module finished")
        self.result = result


class ControllerModule:
    """The few AnsibleModule methods these modules use."""

    def __init__(self, params, check_mode):
        self.params = params
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        raise _Done(result)

    def fail_json(self, msg, **result):
        raise _Done(dict(result, failed=True, msg=msg))


def make_action(argument_spec, run, required_if=None):
    """An ActionModule class running run(module): the module's main() after AnsibleModule parsed its arguments."""

    class ActionModule(ActionBase):
        TRANSFERS_FILES = False

        def run(self, tmp=None, task_vars=None):
            result = super().run(tmp, task_vars)
            validator = ArgumentSpecValidator(argument_spec, required_if=required_if)
            checked = validator.validate(dict(self._task.args))
            if checked.error_messages:
                return dict(result, failed=True, msg=f"{self._task.action}: {'; '.join(checked.error_messages)}")
            module = ControllerModule(checked.validated_parameters, bool(self._play_context.check_mode))
            try:
                run(module)
                outcome = {"failed": True, "msg": f"{self._task.action} returned no result"}
            except _Done as done:
                outcome = done.result
            if module.warnings:
                outcome["warnings"] = module.warnings
            hidden = set(checked._no_log_values)  # never in the result, whatever the code put there
            return dict(result, **_scrubbed(outcome, hidden))

    return ActionModule


def _scrubbed(value, hidden):
    if isinstance(value, str):
        for secret in sorted(hidden, key=len, reverse=True):
            if secret:
                value = value.replace(secret, "********")
        return value
    if isinstance(value, dict):
        return {k: _scrubbed(v, hidden) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, hidden) for v in value]
    return value
