#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: output_oracle
short_description: Read the L2OutputOracle's latest output and compare it with the root op-node computes
description:
  - Reads, in one batched request on the settlement chain, C(latestOutputIndex), C(nextBlockNumber),
    C(SUBMISSION_INTERVAL), C(PROPOSER), C(latestBlockNumber) and the head; then C(getL2Output) of the latest
    index in a second request.
  - C(latestOutputIndex) reverts while nothing was proposed; the module then returns RV(latest_index) null
    and RV(proposed) false instead of failing.
  - With O(op_node_rpc_url), asks op-node for C(optimism_outputAtBlock) at the output's L2 block and reports
    RV(mismatch) (what monitorism's fault detector checks).
version_added: 0.1.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.rpc
  - jeju.ops.read_only
options:
  address:
    description: The L2OutputOracle proxy address.
    type: str
    required: true
  op_node_rpc_url:
    description: op-node's RPC, to compare the latest output root with the one op-node computes.
    type: str
  recent_outputs:
    description:
      - With O(op_node_rpc_url), also compare this many of the latest outputs with op-node's roots
        (RV(recent_outputs), RV(mismatched_outputs)); a bogus root may already be followed by honest ones.
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Read the latest output and compare it with op-node
  jeju.ops.output_oracle:
    rpc_urls: "{{ jeju_l1_rpc_urls }}"
    expect_chain_id: "{{ jeju_l1_chain_id }}"
    address: "{{ jeju_l2_output_oracle_address }}"
    op_node_rpc_url: "{{ jeju_op_node_rpc_url }}"
  register: jeju_oracle
"""

RETURN = r"""
latest_index:
  description: latestOutputIndex(); null when nothing was proposed.
  returned: success
  type: int
proposed: {description: Whether any output exists., returned: success, type: bool}
latest_output:
  description: C(output_root), C(timestamp), C(l2_block_number) of the latest output; null when none.
  returned: success
  type: dict
age_seconds:
  description: Settlement-chain head time minus the output's timestamp.
  returned: success
  type: int
next_block_number:
  description: nextBlockNumber(), the L2 block of the next output.
  returned: success
  type: int
submission_interval: {description: SUBMISSION_INTERVAL() in L2 blocks., returned: success, type: int}
proposer: {description: PROPOSER()., returned: success, type: str}
op_node_output_root:
  description: The root op-node computes for the same block.
  returned: with op_node_rpc_url
  type: str
mismatch:
  description: On-chain root differs from op-node's (null when not compared).
  returned: with op_node_rpc_url
  type: bool
recent_outputs:
  description: The latest O(recent_outputs) outputs, each with C(index), C(output_root), C(timestamp),
    C(l2_block_number), C(op_node_output_root) and C(mismatch).
  returned: with op_node_rpc_url and recent_outputs
  type: list
  elements: dict
mismatched_outputs:
  description: The entries of RV(recent_outputs) whose root differs from op-node's.
  returned: with op_node_rpc_url and recent_outputs
  type: list
  elements: dict
endpoint: {description: The settlement-chain endpoint that answered., returned: always, type: str}
rpc_round_trips: {description: HTTP requests made to the settlement chain., returned: always, type: int}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.jeju.ops.plugins.module_utils.common import checksum, rpc_args, run_module, tls_params
from ansible_collections.jeju.ops.plugins.module_utils.oracle import (
    ETH_UTILS_IMPORT_ERROR,
    HAS_ETH_UTILS,
    compare_recent_outputs,
    compare_with_op_node,
    oracle_state,
)
from ansible_collections.jeju.ops.plugins.module_utils.rpc import RpcClient

ARGUMENT_SPEC = rpc_args(
    address=dict(type="str", required=True),
    op_node_rpc_url=dict(type="str"),
    recent_outputs=dict(type="int", default=0),
)


def read_oracle(module, client):
    p = module.params
    facts = oracle_state(client, p["expect_chain_id"], checksum(p["address"], "L2OutputOracle address"))
    if p["op_node_rpc_url"]:
        op_node = RpcClient([p["op_node_rpc_url"]], timeout=p["timeout"], **tls_params(p))
        facts.update(compare_with_op_node(op_node, facts))
        if p["recent_outputs"] > 0:
            facts.update(compare_recent_outputs(client, op_node, facts, p["recent_outputs"]))
        facts["op_node_round_trips"] = op_node.round_trips
    return dict(changed=False, **facts)


def run(module):
    """The module's work once AnsibleModule parsed its arguments (also run in the controller by the action
    plugin of the same name)."""
    if not HAS_ETH_UTILS:
        module.fail_json(msg=missing_required_lib("eth-utils"), exception=ETH_UTILS_IMPORT_ERROR)
    run_module(module, read_oracle)


def main():
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
