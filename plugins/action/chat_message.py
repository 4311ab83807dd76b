# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Action plugin for jeju.ops.chat_message: the module's code run in the controller (no module process forked)."""

from __future__ import annotations

from ansible_collections.jeju.ops.plugins.modules.chat_message import ARGUMENT_SPEC, run
from ansible_collections.jeju.ops.plugins.plugin_utils.controller_module import make_action

ActionModule = make_action(ARGUMENT_SPEC, run)
