#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: fee_market
short_description: Read a chain's base fee, priority fee, gas price and blob base fee
description:
  - Reads the latest base fee, the suggested priority fee (C(eth_maxPriorityFeePerGas)), the gas price and,
    where the node serves it, the blob base fee (C(eth_blobBaseFee)) in one batched JSON-RPC request.
  - Values are returned in wei (exact integers) and gwei.
version_added: 0.1.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.rpc
  - jeju.ops.read_only
options:
  max_gas_price_gwei:
    description: Report RV(above_max) when the gas price exceeds this many gwei.
    type: float
"""

EXAMPLES = r"""
- name: Is Base gas too expensive for the batcher?
  jeju.ops.fee_market:
    rpc_urls: "{{ jeju_l1_rpc_urls }}"
    expect_chain_id: "{{ jeju_l1_chain_id }}"
    max_gas_price_gwei: 100
  register: jeju_l1_fees
"""

RETURN = r"""
chain_id: {description: Chain id served., returned: success, type: int}
block_number: {description: Block whose base fee is reported., returned: success, type: int}
base_fee_wei: {description: Base fee of the latest block (null before London)., returned: success, type: int}
base_fee_gwei: {description: The same in gwei., returned: success, type: float}
priority_fee_wei: {description: Suggested priority fee (null when not served)., returned: success, type: int}
priority_fee_gwei: {description: The same in gwei., returned: success, type: float}
gas_price_wei: {description: eth_gasPrice., returned: success, type: int}
gas_price_gwei: {description: The same in gwei., returned: success, type: float}
blob_base_fee_wei:
  description: Blob base fee (null when the node does not serve it).
  returned: success
  type: int
blob_base_fee_gwei: {description: The same in gwei., returned: success, type: float}
above_max: {description: Gas price above max_gas_price_gwei., returned: success, type: bool}
endpoint: {description: The endpoint that answered., returned: always, type: str}
endpoints_tried:
  description: Each endpoint tried with error and latency_ms.
  returned: always
  type: list
  elements: dict
rpc_round_trips: {description: HTTP requests made to the chain., returned: always, type: int}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jeju.ops.plugins.module_utils.chain import fee_market
from ansible_collections.jeju.ops.plugins.module_utils.common import rpc_args, run_module

ARGUMENT_SPEC = rpc_args(max_gas_price_gwei=dict(type="float"))


def read_fees(module, client):
    p = module.params
    return dict(changed=False, **fee_market(client, p["expect_chain_id"], p["max_gas_price_gwei"]))


def run(module):
    """The module's work once AnsibleModule parsed its arguments (also run in the controller by the action
    plugin of the same name)."""
    run_module(module, read_fees)


def main():
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
