# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Action plugin for jeju.ops.chain_reads: several read-only chain modules run in the controller at once.

Each read is the module's own code on its own argument spec (plugins/plugin_utils/controller_module.py), one
thread each: the task waits for the slowest read, not for their sum, and costs one task instead of one each.
"""

from __future__ import annotations

import importlib
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible_collections.jeju.ops.plugins.plugin_utils.controller_module import run_in_controller

READS = ("account_balance", "batch_activity", "bridge_pipeline", "chain_head", "chain_probe", "contract_activity",
         "fee_market", "op_node", "output_oracle", "rpc_probe")


def _module(read):
    return importlib.import_module(f"ansible_collections.jeju.ops.plugins.modules.{read['module']}")


def _problem(name, read):
    """What is wrong with one entry of `reads` (its shape, its module, its arguments), or None."""
    if not isinstance(read, dict) or set(read) - {"module", "args"} or "module" not in read:
        return f"reads.{name} must be a dict with module and args"
    if read["module"] not in READS:
        return f"reads.{name}: module {read['module']!r} is not a chain read; use one of {', '.join(READS)}"
    if not isinstance(read.get("args") or {}, dict):
        return f"reads.{name}.args must be a dict of {read['module']}'s options"
    module = _module(read)
    checked = ArgumentSpecValidator(module.ARGUMENT_SPEC, required_if=getattr(module, "REQUIRED_IF", None)) \
        .validate(dict(read.get("args") or {}))
    if checked.error_messages:
        return f"reads.{name} ({read['module']}): {'; '.join(checked.error_messages)}"
    return None


def _timed(name, read, check_mode):
    module = _module(read)
    started = time.monotonic()
    try:
        result = run_in_controller(f"jeju.ops.chain_reads reads.{name} ({read['module']})", module.ARGUMENT_SPEC,
                                   module.run, read.get("args") or {}, check_mode,
                                   getattr(module, "REQUIRED_IF", None))
    except Exception as exc:  # one read's bug must not hide the others' results
        result = {"failed": True, "msg": f"reads.{name} ({read['module']}): {type(exc).__name__}: {exc}"}
    return result, round(time.monotonic() - started, 3)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("reads",))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        reads = self._task.args.get("reads")
        if not isinstance(reads, dict) or not reads:
            return dict(result, failed=True, msg="jeju.ops.chain_reads: reads must be a non-empty dict of name to "
                                                 "{module, args}")
        problems = [p for p in (_problem(name, read) for name, read in reads.items()) if p]
        if problems:
            return dict(result, failed=True, msg="jeju.ops.chain_reads: " + "; ".join(problems))
        check_mode = bool(self._play_context.check_mode)
        with ThreadPoolExecutor(max_workers=len(reads)) as pool:
            futures = {name: pool.submit(_timed, name, read, check_mode) for name, read in reads.items()}
            done = {name: future.result() for name, future in futures.items()}
        results = {name: outcome for name, (outcome, _s) in done.items()}
        warnings = [w for outcome in results.values() for w in outcome.get("warnings", [])]
        return dict(result, changed=False, results=results, seconds={n: s for n, (_o, s) in done.items()},
                    failed_reads=[n for n, r in results.items() if r.get("failed")],
                    **({"warnings": warnings} if warnings else {}))
