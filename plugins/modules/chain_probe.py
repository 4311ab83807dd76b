#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: chain_probe
short_description: Read the L2 head, op-node's sync status and every L1 endpoint's head in one run
description:
  - One look at the whole chain for a diagnosis, every read at once (one thread per endpoint) in one module run.
  - The L2 head comes from the first of O(l2_rpc_urls) that answers (failover); it is stalled when older than
    O(stalled_after).
  - op-node's unsafe, safe and finalized heads come from C(optimism_syncStatus) on O(op_node_rpc_url).
  - Each of O(l1_rpc_urls) is read on its own, so that the result says which L1 endpoint is down and which
    backup answers.
  - An endpoint that does not answer, or serves another chain id, is reported in the result (C(error)); the
    module itself fails only on bad arguments.
version_added: 0.2.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.read_only
  - jeju.ops.rpc.tls
options:
  l2_rpc_urls:
    description: L2 JSON-RPC endpoints, tried in order.
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
  l1_rpc_urls:
    description: Every L1 endpoint, primary first; each is read on its own.
    type: list
    elements: str
    required: true
  l1_chain_id:
    description: The chain id the L1 endpoints must serve.
    type: int
  stalled_after:
    description: The L2 is stalled when its head block is older than this many seconds.
    type: float
    default: 60
  timeout:
    description: Seconds to wait for each endpoint.
    type: float
    default: 5.0
"""

EXAMPLES = r"""
- name: Probe the L2 head, op-node and every L1 endpoint
  jeju.ops.chain_probe:
    l2_rpc_urls: "{{ jeju_l2_rpc_urls }}"
    l2_chain_id: "{{ jeju_l2_chain_id }}"
    op_node_rpc_url: "{{ jeju_op_node_rpc_url }}"
    l1_rpc_urls: "{{ jeju_l1_rpc_urls }}"
    l1_chain_id: "{{ jeju_l1_chain_id }}"
    stalled_after: "{{ jeju_thresholds.block_stall_seconds }}"
  register: chain
"""

RETURN = r"""
l2:
  description: The L2 head (number, age_seconds, stalled, stall_seconds, endpoint, error).
  returned: always
  type: dict
op_node:
  description: op-node's heads (reachable, error, unsafe_l2_number, safe_l2_number, finalized_l2_number,
    current_l1_number, head_l1_number).
  returned: always
  type: dict
l1:
  description: One entry per L1 endpoint in order (index, role primary or backup, url, endpoint, number,
    age_seconds, ok, error).
  returned: always
  type: list
  elements: dict
l1_primary_ok:
  description: Whether the first L1 endpoint answered.
  returned: always
  type: bool
l1_healthy_backups:
  description: The backup L1 URLs that answered, in order.
  returned: always
  type: list
  elements: str
rpc_round_trips:
  description: HTTP requests made, all endpoints together.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jeju.ops.plugins.module_utils.chain_probe import probe_chain
from ansible_collections.jeju.ops.plugins.module_utils.common import TLS_ARGS, tls_params

ARGUMENT_SPEC = dict(
    l2_rpc_urls=dict(type="list", elements="str", required=True),
    l2_chain_id=dict(type="int"),
    op_node_rpc_url=dict(type="str", required=True),
    l1_rpc_urls=dict(type="list", elements="str", required=True),
    l1_chain_id=dict(type="int"),
    stalled_after=dict(type="float", default=60),
    timeout=dict(type="float", default=5.0),
    **TLS_ARGS,
)


def run(module):
    """The module after argument parsing (main() here, or the action plugin in the controller)."""
    p = module.params
    if not p["l2_rpc_urls"] or not p["l1_rpc_urls"]:
        module.fail_json(msg="chain_probe needs at least one L2 and one L1 RPC URL (l2_rpc_urls, l1_rpc_urls)")
    result = probe_chain(p["l2_rpc_urls"], p["l2_chain_id"], p["op_node_rpc_url"], p["l1_rpc_urls"],
                         p["l1_chain_id"], p["stalled_after"], p["timeout"], tls_params(p))
    module.exit_json(changed=False, **result)


def main():
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
