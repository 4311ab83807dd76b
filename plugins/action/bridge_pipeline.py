# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Action plugin for jeju.ops.bridge_pipeline: the module's code run in the controller (no module process forked).

Its reads are HTTP from the control node, so nothing is lost by not shipping the module; the fork and AnsiballZ
cost 0.3-0.6 s per task (plugins/plugin_utils/controller_module.py, docs/benchmarks.md).
"""

from __future__ import annotations

from ansible_collections.jeju.ops.plugins.modules.bridge_pipeline import ARGUMENT_SPEC, run
from ansible_collections.jeju.ops.plugins.plugin_utils.controller_module import make_action

ActionModule = make_action(ARGUMENT_SPEC, run)
