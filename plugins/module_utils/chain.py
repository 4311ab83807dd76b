# -*- coding: utf-8 -*-
"""Chain reads for chain_head, account_balance and fee_market: one batched request each."""

from __future__ import annotations

import time

from ansible_collections.jeju.ops.plugins.module_utils.common import ModuleFailure
from ansible_collections.jeju.ops.plugins.module_utils.rpc import (
    Call,
    CallError,
    RpcClient,
    check_chain_id,
    hex_int,
)
from ansible_collections.jeju.ops.plugins.module_utils.units import eth_text, to_eth, to_gwei, to_wei


def head_facts(block: dict) -> dict:
    timestamp = hex_int(block["timestamp"])
    return {
        "number": hex_int(block["number"]),
        "hash": block["hash"],
        "timestamp": timestamp,
        "age_seconds": round(max(0.0, time.time() - timestamp), 1),
    }


def chain_head(client: RpcClient, expect_chain_id: int | None, stalled_after: float,
               watch_seconds: float = 0) -> dict:
    chain_id, block = client.require([Call("eth_chainId"), Call("eth_getBlockByNumber", ["latest", False])])
    facts = {"chain_id": check_chain_id(client, chain_id, expect_chain_id), **head_facts(block)}
    facts["blocks_advanced"] = None
    if watch_seconds:
        time.sleep(watch_seconds)
        later = head_facts(client.call("eth_getBlockByNumber", "latest", False))
        facts["blocks_advanced"] = later["number"] - facts["number"]
        facts.update(later)
    facts["stalled"] = facts["age_seconds"] > stalled_after or facts["blocks_advanced"] == 0
    return facts


def account_balances(client: RpcClient, expect_chain_id: int | None, accounts: dict[str, str],
                     minimums_eth: dict[str, object]) -> dict:
    names = list(accounts)
    calls = [Call("eth_chainId"), Call("eth_blockNumber")]
    calls += [Call("eth_getBalance", [accounts[n], "latest"]) for n in names]
    chain_id, number, *balances = client.require(calls)
    result = {"chain_id": check_chain_id(client, chain_id, expect_chain_id), "block_number": hex_int(number)}
    rows, below = {}, []
    for name, raw in zip(names, balances, strict=True):
        wei = hex_int(raw)
        minimum = minimums_eth.get(name)
        min_wei = to_wei(minimum) if minimum is not None else None
        is_below = min_wei is not None and wei < min_wei
        rows[name] = {
            "address": accounts[name], "wei": wei, "eth": to_eth(wei),
            "min_eth": float(minimum) if minimum is not None else None, "below_min": is_below,
        }
        if is_below:
            below.append(name)
    result.update(balances=rows, below_min=below)
    if below:
        result["summary"] = ", ".join(
            f"{n} has {eth_text(rows[n]['wei'])} (minimum {rows[n]['min_eth']} ETH)" for n in below
        )
    return result


def fee_market(client: RpcClient, expect_chain_id: int | None, max_gas_price_gwei: float | None) -> dict:
    calls = [
        Call("eth_chainId"), Call("eth_getBlockByNumber", ["latest", False]),
        Call("eth_maxPriorityFeePerGas"), Call("eth_gasPrice"), Call("eth_blobBaseFee"),
    ]
    chain_id, block, priority, gas_price, blob = client.batch(calls)
    for item, call in zip((chain_id, block, gas_price), (calls[0], calls[1], calls[3]), strict=True):
        if isinstance(item, CallError):
            raise ModuleFailure(f"{call.method} on {client.endpoint} failed: {item.message}")
    facts = {"chain_id": check_chain_id(client, chain_id, expect_chain_id), "block_number": hex_int(block["number"])}
    values = {
        "base_fee": block.get("baseFeePerGas"),
        "priority_fee": None if isinstance(priority, CallError) else priority,
        "gas_price": gas_price,
        "blob_base_fee": None if isinstance(blob, CallError) else blob,
    }
    for name, raw in values.items():
        wei = hex_int(raw) if raw is not None else None
        facts[f"{name}_wei"] = wei
        facts[f"{name}_gwei"] = to_gwei(wei) if wei is not None else None
    facts["max_gas_price_gwei"] = max_gas_price_gwei
    facts["above_max"] = max_gas_price_gwei is not None and facts["gas_price_gwei"] > max_gas_price_gwei
    return facts
