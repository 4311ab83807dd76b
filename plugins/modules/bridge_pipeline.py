#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: bridge_pipeline
short_description: Read the bridge stage by stage, from deposits on L1 to their transactions on L2 and the outputs
description:
  - One look at the bridge for a diagnosis, in one module run, each stage's reads in one batched request.
  - "L1: the head at every endpoint of O(l1_rpc_urls) at once. L1's head is the highest; an endpoint below it lags
    by as many blocks (each endpoint's lag_blocks in RV(l1)): a provider that stopped syncing still answers.
    The freshest endpoint answers the reads that follow."
  - "Deposits on L1: the C(TransactionDeposited) events of O(optimism_portal) in the last O(scan_blocks) blocks (or
    from O(from_block)), with the portal's and the SuperchainConfig's C(paused()) and the guardian."
  - "Deposits on L2: the hash of the deposit transaction op-node derives from each event (type 0x7e, computed from
    the event alone, as the OP Stack deposit spec defines it) and its receipt on O(l2_rpc_urls). A deposit is due
    once it is O(window_blocks) L1 blocks old; a due deposit without a receipt is missing."
  - "op-node: C(optimism_syncStatus) on O(op_node_rpc_url): its view of L1's head (C(head_l1)), how far derivation
    read (C(current_l1)), the unsafe head's L1 origin (deposits are included up to it), each as a lag in L1 blocks
    behind L1's head; and the unsafe, safe and finalized L2 heads."
  - "Outputs: with O(l2_output_oracle), the latest output and its age against L1's head."
  - An endpoint that does not answer, or serves another chain id, is reported in the result (C(error)); the
    module itself fails only on bad arguments.
version_added: 0.3.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.read_only
  - jeju.ops.rpc.tls
options:
  l1_rpc_urls:
    description: Every L1 (settlement chain) endpoint, primary first; each is read on its own.
    type: list
    elements: str
    required: true
  l1_chain_id:
    description: The chain id the L1 endpoints must serve.
    type: int
  l2_rpc_urls:
    description: L2 JSON-RPC endpoints, tried in order (failover).
    type: list
    elements: str
    required: true
  l2_chain_id:
    description: The chain id the L2 endpoints must serve.
    type: int
  op_node_rpc_url:
    description: op-node's RPC.
    type: str
    required: true
  optimism_portal:
    description: The OptimismPortal (proxy) address on L1.
    type: str
    required: true
  superchain_config:
    description: The SuperchainConfig address on L1, whose C(paused()) the portal follows.
    type: str
  l2_output_oracle:
    description: The L2OutputOracle address on L1, to read the latest output and its age.
    type: str
  scan_blocks:
    description: How many recent L1 blocks to scan for deposits (ignored with O(from_block)).
    type: int
    default: 300
  from_block:
    description: Scan for deposits from this L1 block to the head instead (a verification waits for a new one).
    type: int
  window_blocks:
    description: A deposit is due on L2 once it is this many L1 blocks old.
    type: int
    default: 50
  timeout:
    description: Seconds to wait for each endpoint.
    type: float
    default: 5.0
"""

EXAMPLES = r"""
- name: Read the bridge, deposits due after 5 L1 blocks
  jeju.ops.bridge_pipeline:
    l1_rpc_urls: "{{ jeju_l1_rpc_urls }}"
    l1_chain_id: "{{ jeju_l1_chain_id }}"
    l2_rpc_urls: "{{ jeju_l2_rpc_urls }}"
    l2_chain_id: "{{ jeju_l2_chain_id }}"
    op_node_rpc_url: "{{ jeju_op_node_rpc_url }}"
    optimism_portal: "{{ jeju_addresses.optimism_portal }}"
    superchain_config: "{{ jeju_addresses.superchain_config }}"
    l2_output_oracle: "{{ jeju_addresses.l2_output_oracle }}"
    window_blocks: 5
  register: bridge
"""

RETURN = r"""
l1:
  description:
    - L1's head (ok, head, hash, timestamp, age_seconds, endpoint, url, error) and one entry per endpoint in order
      (endpoints; index, role primary or backup, url, endpoint, number, age_seconds, lag_blocks, ok, error).
  returned: always
  type: dict
op_node:
  description:
    - reachable, error; head_l1, current_l1, safe_l1, finalized_l1 and unsafe_l2 (with l1_origin), safe_l2,
      finalized_l2 (number, hash, timestamp); lag_blocks of head_l1, current_l1 and unsafe_l1_origin behind L1's head.
  returned: always
  type: dict
deposits:
  description:
    - One entry per deposit in the window, oldest first (l1_block, l1_tx_hash, log_index, from, to, mint_wei,
      value_wei, gas_limit, source_hash, l2_tx_hash, age_blocks, due, included, l2_block, l2_status). included is
      null when L2 did not answer.
  returned: always
  type: list
  elements: dict
window:
  description: from_block, to_block, window_blocks, seen, included, due, missing (due and not on L2), oldest_missing;
    error when the portal's events could not be read.
  returned: always
  type: dict
paused:
  description: paused() of the portal and of the SuperchainConfig (null when it could not be read), and the guardian.
  returned: always
  type: dict
l2:
  description: The L2 head (ok, head, timestamp, age_seconds, endpoint, error).
  returned: always
  type: dict
oracle:
  description: The L2OutputOracle's state as jeju.ops.output_oracle reads it (latest_index, latest_output, age_seconds,
    next_block_number, proposed...), its age against L1's head; null without O(l2_output_oracle); error when unread.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jeju.ops.plugins.module_utils.bridge import bridge_pipeline
from ansible_collections.jeju.ops.plugins.module_utils.common import TLS_ARGS, ModuleFailure, checksum, tls_params

ARGUMENT_SPEC = dict(
    l1_rpc_urls=dict(type="list", elements="str", required=True),
    l1_chain_id=dict(type="int"),
    l2_rpc_urls=dict(type="list", elements="str", required=True),
    l2_chain_id=dict(type="int"),
    op_node_rpc_url=dict(type="str", required=True),
    optimism_portal=dict(type="str", required=True),
    superchain_config=dict(type="str"),
    l2_output_oracle=dict(type="str"),
    scan_blocks=dict(type="int", default=300),
    from_block=dict(type="int"),
    window_blocks=dict(type="int", default=50),
    timeout=dict(type="float", default=5.0),
    **TLS_ARGS,
)


def checked(params):
    if not params["l1_rpc_urls"] or not params["l2_rpc_urls"]:
        raise ModuleFailure("bridge_pipeline needs at least one L1 and one L2 RPC URL (l1_rpc_urls, l2_rpc_urls)")
    if params["scan_blocks"] < 1 or params["window_blocks"] < 1:
        raise ModuleFailure("scan_blocks and window_blocks must be at least 1")
    for key in ("optimism_portal", "superchain_config", "l2_output_oracle"):
        if params[key]:
            params[key] = checksum(params[key], key)
    return params


def run(module):
    """The module's work once AnsibleModule parsed its arguments (also run in the controller by the action
    plugin of the same name)."""
    try:
        result = bridge_pipeline(checked(dict(module.params)), tls_params(module.params))
    except ModuleFailure as exc:
        module.fail_json(msg=str(exc), **exc.facts)
    module.exit_json(**result)


def main():
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
