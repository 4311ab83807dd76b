# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
# The work is done by the action plugin plugins/action/gate.py; this file carries the documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: gate
short_description: Stop before a dangerous step until a human approves it
description:
  - Declares a dangerous step (restart, scale, config patch, funding transfer, pause) in a playbook.
  - Under the jeju-play runner the run stops, shows O(description) and the exact O(change), and waits for an
    answer from the terminal, from C(--yes), or from the alert receiver's approval endpoint.
  - A refusal, or no answer before O(timeout), fails the task with C(gate_refused=true); the runner ends the
    run with exit code 4. The gate never approves by itself.
  - Outside the runner (plain ansible-playbook, molecule) the gate refuses unless the variable
    C(jeju_gate_preapproved) is true.
version_added: 0.1.0
author: Jeju operations
options:
  description:
    description: What the step does, in one sentence the approver can judge.
    type: str
    required: true
  change:
    description: The exact change (a patch, a replica count, an amount and recipient), shown to the approver.
    type: raw
  kind:
    description: The kind of danger.
    type: str
    choices: [restart, scale, patch, delete, transfer, pause, restore, sequencer, change]
    default: change
  target:
    description: The object the step changes, for example C(op-stack/deployment/op-node).
    type: str
  timeout:
    description: Seconds to wait for an answer; defaults to the inventory's C(jeju_gate_timeout_seconds).
    type: float
attributes:
  check_mode:
    support: full
    description: In check mode the gate does not ask; it reports what it would have asked.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Ask before restarting op-node
  jeju.ops.gate:
    description: Restart op-node so that it picks up the backup L1 RPC
    kind: restart
    target: op-stack/deployment/op-node
    change:
      kubectl: kubectl rollout restart -n op-stack deployment/op-node
"""

RETURN = r"""
approved:
  description: True when a human approved the step.
  returned: when approved
  type: bool
gate_refused:
  description: True when the step was refused or timed out; the task fails.
  returned: when refused
  type: bool
would_ask:
  description: True in check mode.
  returned: check mode
  type: bool
gate:
  description: The request (id, task, description, kind, target, change) and the answer (approved, who, how, when).
  returned: always
  type: dict
"""
