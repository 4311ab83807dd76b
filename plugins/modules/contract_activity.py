#!/usr/bin/python
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: contract_activity
short_description: Read-only evidence about contracts under attack (transactions, balances, largest outflows)
description:
  - Scans the last O(window_blocks) blocks of the chain in batched JSON-RPC requests and returns every
    transaction sent to one of O(contracts), with its receipt status and 4-byte selector.
  - Returns each contract's balance at the window's last block, and its net ETH outflow per block where it
    received transactions; an outflow is attributed to the senders of that block's successful transactions
    to the contract (C(shared) when there were several).
  - Suspects are O(suspects) when given, else the O(top) senders with the largest attributed outflows.
  - Never sends a transaction.
version_added: 0.1.0
author: Jeju operations (@jeju-ops)
extends_documentation_fragment:
  - jeju.ops.rpc
options:
  contracts: {description: Name to address of the contracts to watch., type: dict, required: true}
  window_blocks: {description: How many recent blocks to scan., type: int, default: 200}
  to_block: {description: The last block of the window (default the head)., type: int}
  suspects: {description: Addresses already suspected (given by the operator)., type: list, elements: str}
  top: {description: How many suspects to find when none are given., type: int, default: 3}
attributes:
  check_mode: {support: full, description: Read-only.}
"""

EXAMPLES = r"""
- name: Gather evidence about the portal
  jeju.ops.contract_activity:
    rpc_urls: "{{ jeju_l1_rpc_urls }}"
    contracts: {optimism_portal: "{{ jeju_addresses.optimism_portal }}"}
    window_blocks: 100
"""

RETURN = r"""
from_block: {description: First block scanned., returned: success, type: int}
to_block: {description: Last block scanned., returned: success, type: int}
balances_wei: {description: Contract name to balance (wei string) at to_block., returned: success, type: dict}
transactions:
  description: Transactions to the contracts (hash, block, from, contract, value_wei, status, selector).
  returned: success
  type: list
outflows:
  description: Per block outflows (block, contract, wei, senders, shared).
  returned: success
  type: list
  elements: dict
suspects:
  description: Suspect addresses with their attributed outflow (wei string) and transaction count.
  returned: success
  type: list
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.jeju.ops.plugins.module_utils.common import ModuleFailure, checksum, rpc_args, run_module
from ansible_collections.jeju.ops.plugins.module_utils.rpc import Call, check_chain_id, hex_int

ARGUMENT_SPEC = rpc_args(
    contracts=dict(type="dict", required=True),
    window_blocks=dict(type="int", default=200),
    to_block=dict(type="int"),
    suspects=dict(type="list", elements="str"),
    top=dict(type="int", default=3),
)


def scan_window(client, start, end, watched):
    blocks = client.require([Call("eth_getBlockByNumber", [hex(n), True]) for n in range(start, end + 1)])
    found = []
    for block in blocks:
        for tx in (block or {}).get("transactions", []):
            to = (tx.get("to") or "").lower()
            if to in watched:
                found.append({"hash": tx["hash"], "block": hex_int(tx["blockNumber"]),
                              "from": checksum(tx["from"], "from"),
                              "contract": watched[to], "value_wei": str(hex_int(tx["value"])),
                              "selector": (tx.get("input") or "0x")[:10]})
    if found:
        receipts = client.require([Call("eth_getTransactionReceipt", [t["hash"]]) for t in found])
        for tx, receipt in zip(found, receipts, strict=True):
            tx["status"] = "success" if receipt and hex_int(receipt["status"]) == 1 else "reverted"
    return found


def outflows_of(client, txs, addresses):
    touched = sorted({(t["contract"], t["block"]) for t in txs if t["status"] == "success"})
    calls = []
    for name, block in touched:
        calls += [Call("eth_getBalance", [addresses[name], hex(block - 1)]),
                  Call("eth_getBalance", [addresses[name], hex(block)])]
    balances = client.require(calls) if calls else []
    rows = []
    for i, (name, block) in enumerate(touched):
        inflow = sum(int(t["value_wei"]) for t in txs if t["block"] == block and t["contract"] == name)
        out = hex_int(balances[2 * i]) + inflow - hex_int(balances[2 * i + 1])
        if out > 0:
            senders = sorted({t["from"] for t in txs if t["block"] == block and t["contract"] == name
                              and t["status"] == "success"})
            rows.append({"block": block, "contract": name, "wei": str(out), "senders": senders,
                         "shared": len(senders) > 1})
    return rows


def rank_suspects(txs, outflows, given, top):
    totals = {}
    for row in outflows:
        for sender in row["senders"]:
            totals[sender] = totals.get(sender, 0) + int(row["wei"]) // len(row["senders"])
    counts = {}
    for tx in txs:
        counts[tx["from"]] = counts.get(tx["from"], 0) + 1
    if given:
        chosen = [checksum(a, "suspect") for a in given]
        source = "given"
    else:
        chosen = [a for a, _wei in sorted(totals.items(), key=lambda kv: -kv[1])[:top]]
        source = "largest outflows"
    return [{"address": a, "outflow_wei": str(totals.get(a, 0)), "transactions": counts.get(a, 0), "source": source}
            for a in chosen]


def activity(module, client):
    p = module.params
    addresses = {name: checksum(addr, f"contract {name}") for name, addr in p["contracts"].items()}
    if p["window_blocks"] < 1:
        raise ModuleFailure("window_blocks must be at least 1")
    chain_id, head = client.require([Call("eth_chainId"), Call("eth_blockNumber")])
    check_chain_id(client, chain_id, p["expect_chain_id"])
    end = min(p["to_block"], hex_int(head)) if p["to_block"] is not None else hex_int(head)
    start = max(1, end - p["window_blocks"] + 1)
    watched = {a.lower(): name for name, a in addresses.items()}
    txs = scan_window(client, start, end, watched)
    names = list(addresses)
    balances = client.require([Call("eth_getBalance", [addresses[n], hex(end)]) for n in names])
    outflows = outflows_of(client, txs, addresses)
    return {"changed": False, "from_block": start, "to_block": end, "transactions": txs, "outflows": outflows,
            "balances_wei": {n: str(hex_int(b)) for n, b in zip(names, balances, strict=True)},
            "suspects": rank_suspects(txs, outflows, p["suspects"], p["top"])}


def run(module):
    """The module's work once AnsibleModule parsed its arguments (also run in the controller by the action
    plugin of the same name)."""
    run_module(module, activity)


def main():
    run(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True))


if __name__ == "__main__":
    main()
