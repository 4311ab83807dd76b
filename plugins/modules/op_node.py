#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: op_node
short_description: Ask op-node for its sync status and output roots, and stop or start its sequencer
description:
  - C(sync_status) returns C(optimism_syncStatus) with the head numbers summarized.
  - C(sequencer_active) returns C(admin_sequencerActive).
  - C(stop_sequencer) calls C(admin_stopSequencer) and returns the unsafe head hash it stopped at; unchanged
    when already stopped.
  - C(start_sequencer) calls C(admin_startSequencer) with O(unsafe_head_hash), or the current unsafe head when
    none is given; unchanged when already running.
  - C(output_at_block) returns C(optimism_outputAtBlock) for O(block_number).
  - In check mode nothing is changed and the result says what would be done.
  - The admin methods need op-node's C(--rpc.enable-admin).
version_added: 0.1.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.rpc.tls
options:
  rpc_url:
    description: op-node's RPC (port 9545 by default).
    type: str
    required: true
  action:
    description: What to do.
    type: str
    required: true
    choices: [sync_status, sequencer_active, stop_sequencer, start_sequencer, output_at_block]
  unsafe_head_hash:
    description: For C(start_sequencer), the hash to start from (the one C(stop_sequencer) returned).
    type: str
  block_number:
    description: For C(output_at_block), the L2 block.
    type: int
  timeout:
    description: Seconds to wait for op-node.
    type: float
    default: 5.0
attributes:
  check_mode:
    support: full
    description: stop/start only report what they would do.
  diff_mode:
    support: none
    description: The sequencer state before and after is returned instead.
"""

EXAMPLES = r"""
- name: Stop the sequencer before moving it
  jeju.ops.op_node:
    rpc_url: "{{ jeju_op_node_rpc_url }}"
    action: stop_sequencer
  register: jeju_stopped

- name: Start it again where it stopped
  jeju.ops.op_node:
    rpc_url: "{{ jeju_op_node_rpc_url }}"
    action: start_sequencer
    unsafe_head_hash: "{{ jeju_stopped.unsafe_head_hash }}"
"""

RETURN = r"""
sync_status: {description: The raw optimism_syncStatus., returned: sync_status stop start, type: dict}
unsafe_l2_number: {description: Unsafe L2 head., returned: sync_status stop start, type: int}
safe_l2_number: {description: Safe L2 head., returned: sync_status stop start, type: int}
finalized_l2_number: {description: Finalized L2 head., returned: sync_status stop start, type: int}
unsafe_head_hash:
  description: Unsafe head hash (for stop, the hash it stopped at).
  returned: sync_status stop start
  type: str
active: {description: Whether the sequencer runs (after the action)., returned: sequencer actions, type: bool}
start_hash: {description: The hash start_sequencer used., returned: start_sequencer, type: str}
output_root: {description: The output root at block_number., returned: output_at_block, type: str}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jeju.ops.plugins.module_utils.common import TLS_ARGS, run_module
from ansible_collections.jeju.ops.plugins.module_utils.op_node import op_node_action

ARGUMENT_SPEC = dict(
    rpc_url=dict(type="str", required=True),
    action=dict(type="str", required=True, choices=[
        "sync_status", "sequencer_active", "stop_sequencer", "start_sequencer", "output_at_block"]),
    unsafe_head_hash=dict(type="str"),
    block_number=dict(type="int"),
    timeout=dict(type="float", default=5.0),
    **TLS_ARGS,
)
REQUIRED_IF = [("action", "output_at_block", ["block_number"])]


def act(module, client):
    p = module.params
    return op_node_action(client, p["action"], module.check_mode, p["block_number"], p["unsafe_head_hash"])


def run(module):
    """The module's work once AnsibleModule parsed its arguments (also run in the controller by the action
    plugin of the same name)."""
    run_module(module, act, url_key="rpc_url")


def main():
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, required_if=REQUIRED_IF))


if __name__ == "__main__":
    main()
