# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Action plugin for jeju.ops.chain_probe: the module's code run in the controller (no module process forked).

Every diagnosis starts with this probe; run as a module it cost 0.5 s of fork and AnsiballZ before its first
request (docs/benchmarks.md, network-down's diagnose phase).
"""

from __future__ import annotations

from ansible_collections.jeju.ops.plugins.modules.chain_probe import ARGUMENT_SPEC, run
from ansible_collections.jeju.ops.plugins.plugin_utils.controller_module import make_action

ActionModule = make_action(ARGUMENT_SPEC, run)
