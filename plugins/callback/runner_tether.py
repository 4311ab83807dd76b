# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""The playbook lives and dies with the jeju-play run that started it."""

from __future__ import annotations

DOCUMENTATION = r"""
name: runner_tether
type: aggregate
short_description: Ends the playbook when the jeju-play run that started it dies
description:
  - ansible-runner starts ansible-playbook in a session of its own, so a jeju-play run killed with SIGKILL (the
    OOM killer, C(kill -9)) used to leave its playbook running unsupervised, its gates unanswerable, its Lease
    soon expired, while the next run took over and changed the same objects.
  - This callback asks Linux to send ansible-playbook SIGKILL when the runner dies (C(PR_SET_PDEATHSIG)), and
    ends the playbook at the next task when the runner is already gone. A module already running (a transfer
    waiting for its receipt) finishes its own step; what it did is in its ledger and the cluster.
  - The jeju-play runner enables it and sets O(runner_pid); without it the callback does nothing.
version_added: 0.1.0
author: Jeju operations (@jeju-ops)
options:
  runner_pid:
    description: The process id of the jeju-play run whose playbook this is.
    type: int
    env:
      - name: JEJU_PLAY_RUNNER_PID
requirements:
  - Linux (prctl); elsewhere only the check at each task start applies.
"""

import ctypes
import os
import signal

from ansible.plugins.callback import CallbackBase

PR_SET_PDEATHSIG = 1


def tether(runner_pid):
    """SIGKILL this process when its parent dies; False when the runner is gone already."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the check at each task start still ends an orphaned playbook
    return os.getppid() == runner_pid


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "jeju.ops.runner_tether"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self.runner_pid = None

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        self.runner_pid = self.get_option("runner_pid")
        if self.runner_pid and not tether(int(self.runner_pid)):
            self._orphaned()

    def v2_playbook_on_task_start(self, task, is_conditional):
        if self.runner_pid and os.getppid() != int(self.runner_pid):
            self._orphaned()

    def _orphaned(self):
        self._display.error(f"the jeju-play run (pid {self.runner_pid}) that started this playbook is gone: "
                            "stopping here. The next run on this environment says what this one had done.")
        os._exit(250)
