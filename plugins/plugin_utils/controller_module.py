# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Run a jeju.ops module's own code in the controller, through an action plugin of the same name.

A module task forks a Python process and unpacks AnsiballZ (0.3-0.9 s here). The modules whose work is HTTP
from the machine running jeju-play run here instead, on the same argument spec (defaults, choices, no_log), with
exit_json / fail_json caught: the result is what the module would return. They are the notifications
(chat_message, pagerduty_event, statuspage) and the chain reads (chain_probe, chain_head, op_node, rpc_probe,
account_balance, batch_activity, fee_market, contract_activity, output_oracle, bridge_pipeline): each has an
action plugin of its own name in plugins/action. Such requests go from the controller either way (every
inventory's host is the control node, ansible_connection local), so nothing is lost by not shipping the module.
The modules that move money or sign (fund_account, safe_tx) stay module runs.
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


def run_in_controller(action, argument_spec, run, args, check_mode, required_if=None):
    """run(module) on `args` checked against the module's argument spec: the result the module would return, its
    no_log values masked; a bad argument is a failed result naming `action`."""
    validator = ArgumentSpecValidator(argument_spec, required_if=required_if)
    checked = validator.validate(dict(args))
    if checked.error_messages:
        return {"failed": True, "msg": f"{action}: {'; '.join(checked.error_messages)}"}
    module = ControllerModule(checked.validated_parameters, check_mode)
    try:
        run(module)
        outcome = {"failed": True, "msg": f"{action} returned no result"}
    except _Done as done:
        outcome = done.result
    if module.warnings:
        outcome["warnings"] = module.warnings
    hidden = set(checked._no_log_values)  # never in the result, whatever the code put there
    return _scrubbed(outcome, hidden)


def make_action(argument_spec, run, required_if=None):
    """An ActionModule class running run(module): the module's main() after AnsibleModule parsed its arguments."""

    class ActionModule(ActionBase):
        TRANSFERS_FILES = False

        def run(self, tmp=None, task_vars=None):
            result = super().run(tmp, task_vars)
            return dict(result, **run_in_controller(self._task.action, argument_spec, run, self._task.args,
                                                    bool(self._play_context.check_mode), required_if))

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
