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
  - Outside the runner (plain ansible-playbook, AWX / AAP) nobody is asked. The gate is approved only when the
    variable C(jeju_gate_approvals) names it by its approval name C(<environment>:<kind>:<target>), for example
    C(mainnet:restart:op-stack/deployment/op-node), where environment is C(jeju_environment). One approval
    approves the gates of that kind on that target in that environment, and nothing else.
  - C(jeju_gate_approvals) is a list of approval names, or of mappings with C(gate) (the approval name), C(by) (who
    approved, recorded) and C(note); or one string with one approval name a line (an AWX survey answer). There
    is no wildcard.
  - In check mode the gate asks nobody; it reports its approval name and publishes the names of all the gates
    it passed as the custom stat C(jeju_gate_proposals) (C(set_stats) style, not per host), which AWX hands to
    the next nodes of a workflow (see docs/awx.md).
  - A refusal, or no answer before O(timeout), fails the task with C(gate_refused=true); the runner ends the
    run with exit code 4. The gate never approves by itself.
  - A playbook may handle a refusal itself (C(failed_when) on the gate task, then its own next step, such as an
    escalation naming the command to run); the runner then records the refusal but does not end the run as refused.
  - C(jeju_gate_preapproved=true) approves every gate, for molecule and tests only; it is ignored on a
    C(jeju_production) environment and in an AWX / AAP job (C(awx_job_id) set).
version_added: 0.1.0
author: Jeju operations (@jeju-ops)
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
  action:
    support: full
    description: Runs on the controller as the action plugin of the same name.
  check_mode:
    support: full
    description: In check mode the gate does not ask; it reports what it would have asked and its approval name.
  diff_mode:
    support: none
    description: The gate shows O(change) to the approver; it changes nothing itself.
"""

EXAMPLES = r"""
# In a playbook:
- name: Ask before restarting op-node
  jeju.ops.gate:
    description: Restart op-node so that it picks up the backup L1 RPC
    kind: restart
    target: op-stack/deployment/op-node
    change:
      kubectl: kubectl rollout restart -n op-stack deployment/op-node

# Approving it without the runner (AWX extra vars, or ansible-playbook -e @approvals.yml):
#   jeju_gate_approvals:
#     - gate: mainnet:restart:op-stack/deployment/op-node
#       by: alice
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
  description:
    - The request (id, task, description, kind, target, change, approval) and the answer (approved, who, how,
      when).
    - C(approval) is the gate's approval name C(<environment>:<kind>:<target>) that C(jeju_gate_approvals) gives.
  returned: always
  type: dict
"""
