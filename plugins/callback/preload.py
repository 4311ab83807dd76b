# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Import the libraries the collection's controller-side plugins use once, before Ansible forks its workers."""

from __future__ import annotations

DOCUMENTATION = r"""
name: preload
type: aggregate
short_description: Imports the Kubernetes client and the Ethereum libraries once in the controller
description:
  - Ansible forks a worker process for every task. The collection's lookups (M(kubernetes.core.k8s) through
    jeju.ops.k8s_read, jeju.ops.k8s_log, jeju.ops.k8s_exec) and its action plugins (the chain reads run in the
    controller) run in that worker, which imported the Kubernetes client (0.2-0.3 s) and eth-abi / eth-utils again
    for each task.
  - This callback imports them in the controller's main process when the playbook starts, so every worker
    forked afterwards has them already. It changes no output and no result; a library that is not installed is
    skipped (the plugin that needs it reports it as before).
  - The jeju-play runner enables it; under plain ansible-playbook or AWX add C(jeju.ops.preload) to
    C(callbacks_enabled).
version_added: 0.1.0
author: Jeju operations (@jeju-ops)
"""

import importlib

from ansible.plugins.callback import CallbackBase

# What the controller-side plugins import: the Kubernetes client and kubernetes.core's helpers (the lookups),
# eth-abi and eth-utils (the chain reads' module_utils).
PRELOADED = (
    "kubernetes.client",
    "kubernetes.config",
    "kubernetes.dynamic",
    "kubernetes.stream",
    "kubernetes.client.api.core_v1_api",
    "ansible_collections.kubernetes.core.plugins.module_utils.k8s.client",
    "ansible_collections.kubernetes.core.plugins.module_utils.k8s.resource",
    "ansible_collections.kubernetes.core.plugins.module_utils.k8s.service",
    "ansible_collections.kubernetes.core.plugins.module_utils.client.discovery",
    "eth_abi",
    "eth_utils",
)


def preload(names=PRELOADED):
    """Import each of names; the ones that cannot be imported are returned, not raised."""
    missing = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "jeju.ops.preload"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        missing = preload()
        if missing:
            self._display.vvv(f"jeju.ops.preload: not installed, not preloaded: {', '.join(missing)}")
