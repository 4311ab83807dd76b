#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: account_balance
short_description: Read the ETH balances of named accounts and list those below their minimum
description:
  - Reads every balance in one batched JSON-RPC request (with the chain id), failing over along O(rpc_urls).
  - Replaces C(cast balance) for the batcher, proposer and other operational accounts.
version_added: 0.1.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.rpc
  - jeju.ops.read_only
options:
  accounts:
    description: Account name to address.
    type: dict
    required: true
  min_balance_eth:
    description:
      - Minimum balance in ETH, either one number for every account or a dict of account name to minimum.
      - Accounts without a minimum are never reported as below it.
    type: raw
"""

EXAMPLES = r"""
- name: Read the balances of the accounts that pay for the chain
  jeju.ops.account_balance:
    rpc_urls: "{{ jeju_l1_rpc_urls }}"
    expect_chain_id: "{{ jeju_l1_chain_id }}"
    accounts:
      batcher: "{{ jeju_batcher_address }}"
      proposer: "{{ jeju_proposer_address }}"
    min_balance_eth: {batcher: 2, proposer: 1}
  register: jeju_balances

- name: Say which accounts need funds
  ansible.builtin.debug:
    msg: "{{ jeju_balances.summary | default('all funded') }}"
"""

RETURN = r"""
chain_id: {description: Chain id served., returned: success, type: int}
block_number: {description: Head block when the balances were read., returned: success, type: int}
balances:
  description: Per account name, C(address), C(wei), C(eth), C(min_eth) and C(below_min).
  returned: success
  type: dict
below_min:
  description: Names of the accounts below their minimum.
  returned: success
  type: list
  elements: str
summary:
  description: One sentence naming the accounts below their minimum.
  returned: when any is below
  type: str
endpoint: {description: The endpoint that answered., returned: always, type: str}
endpoints_tried:
  description: Each endpoint tried with error and latency_ms.
  returned: always
  type: list
  elements: dict
rpc_round_trips: {description: HTTP requests made to the chain., returned: always, type: int}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jeju.ops.plugins.module_utils.chain import account_balances
from ansible_collections.jeju.ops.plugins.module_utils.common import (
    ModuleFailure,
    checksum,
    rpc_args,
    run_module,
)

ARGUMENT_SPEC = rpc_args(
    accounts=dict(type="dict", required=True),
    min_balance_eth=dict(type="raw"),
)


def minimums(accounts, setting):
    if setting is None:
        return {}
    if isinstance(setting, dict):
        unknown = sorted(set(setting) - set(accounts))
        if unknown:
            raise ModuleFailure(f"min_balance_eth names accounts that are not in accounts: {', '.join(unknown)}")
        return setting
    return {name: setting for name in accounts}


def read_balances(module, client):
    p = module.params
    accounts = {name: checksum(addr, f"account {name}") for name, addr in p["accounts"].items()}
    found = account_balances(client, p["expect_chain_id"], accounts, minimums(accounts, p["min_balance_eth"]))
    return dict(changed=False, **found)


def run(module):
    """The module's work once AnsibleModule parsed its arguments (also run in the controller by the action
    plugin of the same name)."""
    run_module(module, read_balances)


def main():
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
