#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: fund_account
short_description: Top an operational account up to a target balance, inside guard rails, once per intent
description:
  - The only jeju.ops module that moves money. Sends the difference between O(target_balance_eth) and the
    recipient's balance; sends nothing when the recipient already holds the target.
  - Refuses recipients that are not in O(allowed_recipients), transfers above O(max_transfer_eth), and transfers
    that would take the last 24 hours of this sender on this chain above O(daily_cap_eth), saying the numbers.
  - Refuses a chain whose id differs from O(expect_chain_id).
  - Keeps a ledger (JSON lines, under an fcntl lock) of intents and transfers. The signed transaction is recorded
    before it is broadcast, so the same O(intent) never sends twice, even when a run died between sending and
    recording it; the next run finds the transaction by hash and the sender's nonce and waits for it.
  - A transfer to the same recipient that another intent signed and never confirmed (its run died; a rerun has a
    new intent) is seen through, by its own signed bytes, and nothing new is sent (C(settled)), so a rerun after a
    crash never pays twice. What is still missing after it is for the next run, behind its own gate.
  - EIP-1559 fees; waits for the receipt and O(confirmations).
version_added: 0.1.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.rpc.tls
options:
  rpc_urls:
    description: JSON-RPC endpoints of the chain, tried in order (failover).
    type: list
    elements: str
    required: true
    aliases: [rpc_url]
  expect_chain_id:
    description: The chain id the endpoints must serve; required because this module sends money.
    type: int
    required: true
  timeout:
    description: Seconds to wait for each endpoint.
    type: float
    default: 5.0
  to:
    description: The recipient, by its name in O(allowed_recipients) or by address.
    type: str
    required: true
  allowed_recipients:
    description: The inventory's allowlist, name to address (or a list of addresses).
    type: raw
    required: true
  target_balance_eth:
    description: The balance the recipient should hold after the top-up (exact decimal, e.g. C("2.5")).
    type: raw
    required: true
  max_transfer_eth:
    description: Refuse a single transfer above this amount.
    type: raw
    required: true
  daily_cap_eth:
    description: Refuse when the sender's transfers of the last 24 hours on this chain would exceed this.
    type: raw
    required: true
  signer_key:
    description: The funding account's private key (hex), from Ansible Vault. Never shown.
    type: str
  signer_key_file:
    description: A file holding the funding key, when O(signer_key) is not given.
    type: path
  intent:
    description: What this transfer is for; one intent sends at most once. Default C(<run_id>:<recipient address>).
    type: str
  run_id:
    description: The run's id (pass C({{ jeju_run_id }})) from which the default O(intent) is made.
    type: str
  ledger_path:
    description: The ledger file (from the inventory); created when missing.
    type: path
    required: true
  confirmations:
    description: Blocks (the transaction's own included) to wait for.
    type: int
    default: 1
  receipt_timeout:
    description: Seconds to wait for the receipt and confirmations.
    type: float
    default: 120
  lock_timeout:
    description: Seconds to wait for another run holding the ledger.
    type: float
    default: 300
attributes:
  check_mode:
    support: full
    description: Reports the amount it would send and the caps left; sends nothing and writes no ledger entry.
  diff_mode:
    support: none
    description: The balances before and after are returned instead.
"""

EXAMPLES = r"""
- name: Top the batcher up to 5 ETH
  jeju.ops.fund_account:
    rpc_urls: "{{ jeju_l1_rpc_urls }}"
    expect_chain_id: "{{ jeju_l1_chain_id }}"
    to: batcher
    allowed_recipients: "{{ jeju_funding_recipients }}"
    target_balance_eth: "5"
    max_transfer_eth: "5"
    daily_cap_eth: "20"
    signer_key: "{{ vault_jeju_funding_key }}"
    run_id: "{{ jeju_run_id }}"
    ledger_path: "{{ jeju_funding_ledger }}"
    confirmations: 3
  register: jeju_funding
"""

RETURN = r"""
tx_hash:
  description: The transfer's hash; null when nothing was (or would be) sent.
  returned: always
  type: str
amount_eth: {description: The top-up amount in ETH., returned: success, type: float}
amount_wei: {description: The top-up amount in wei., returned: success, type: int}
balance_before_eth: {description: Recipient balance before., returned: success, type: float}
balance_after_eth:
  description: Recipient balance after (not in check mode).
  returned: when sent
  type: float
would_send_eth: {description: Amount a real run would send., returned: check mode, type: float}
daily_cap_left_eth: {description: What the daily cap still allows., returned: success, type: float}
sent_by_this_run:
  description: False when an earlier run of the same intent sent it.
  returned: success
  type: bool
intent: {description: The intent this transfer was recorded under., returned: success, type: str}
settled:
  description: Hashes of earlier intents' unconfirmed transfers to the recipient that were seen through instead.
  returned: when there were any
  type: list
  elements: str
settles:
  description: In check mode, the hashes of earlier unconfirmed transfers a real run would see through instead.
  returned: check mode, when there are any
  type: list
  elements: str
sender: {description: The funding account's address., returned: success, type: str}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jeju.ops.plugins.module_utils.common import (
    KEY_ARGS,
    ModuleFailure,
    checksum,
    read_key,
    rpc_args,
    run_module,
)
from ansible_collections.jeju.ops.plugins.module_utils.funding import Guards, Transfer, fund
from ansible_collections.jeju.ops.plugins.module_utils.ledger import Ledger, LedgerBusy
from ansible_collections.jeju.ops.plugins.module_utils.units import to_wei

ARGUMENT_SPEC = rpc_args(
    to=dict(type="str", required=True),
    allowed_recipients=dict(type="raw", required=True),
    target_balance_eth=dict(type="raw", required=True),
    max_transfer_eth=dict(type="raw", required=True),
    daily_cap_eth=dict(type="raw", required=True),
    intent=dict(type="str"),
    run_id=dict(type="str"),
    ledger_path=dict(type="path", required=True),
    confirmations=dict(type="int", default=1),
    receipt_timeout=dict(type="float", default=120),
    lock_timeout=dict(type="float", default=300),
    expect_chain_id=dict(type="int", required=True),  # required here: this module sends money
    **KEY_ARGS,
)


def resolve_recipient(to, allowed):
    """(name, checksummed address) of an allowed recipient, or a refusal naming the allowlist."""
    pairs = allowed.items() if isinstance(allowed, dict) else [(a, a) for a in allowed or []]
    allowlist = {name: checksum(addr, f"allowed_recipients entry {name}") for name, addr in pairs}
    if to in allowlist:
        return to, allowlist[to]
    for name, address in allowlist.items():
        if address.lower() == str(to).lower():
            return name, address
    raise ModuleFailure(
        f"refused: recipient {to} is not in the inventory's allowed_recipients ({', '.join(allowlist) or 'empty'}). "
        "Add it through a reviewed inventory change first.", recipient=to)


def top_up(module, client):
    p = module.params
    name, address = resolve_recipient(p["to"], p["allowed_recipients"])
    if not p["intent"] and not p["run_id"]:
        raise ModuleFailure("set intent, or run_id (the runner's jeju_run_id) from which the intent is made")
    guards = Guards(to_wei(p["target_balance_eth"]), to_wei(p["max_transfer_eth"]), to_wei(p["daily_cap_eth"]))
    transfer = Transfer(address, name, p["intent"] or f"{p['run_id']}:{address}", p["expect_chain_id"],
                        p["confirmations"], p["receipt_timeout"])
    key = read_key(p)
    ledger = Ledger(p["ledger_path"])
    try:
        with ledger.locked(p["lock_timeout"]):
            return fund(client, ledger, key, transfer, guards, module.check_mode)
    except LedgerBusy as exc:
        raise ModuleFailure(str(exc)) from None


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           mutually_exclusive=[("signer_key", "signer_key_file")])
    run_module(module, top_up)


if __name__ == "__main__":
    main()
