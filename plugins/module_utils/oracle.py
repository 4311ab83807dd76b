# -*- coding: utf-8 -*-
"""L2OutputOracle reads: two batched requests on the settlement chain, one on op-node for the comparison."""

from __future__ import annotations

import traceback

from ansible_collections.jeju.ops.plugins.module_utils.abi import decode, eth_call, revert_reason
from ansible_collections.jeju.ops.plugins.module_utils.rpc import (
    Call,
    CallError,
    RpcClient,
    RpcError,
    check_chain_id,
    hex_int,
)

try:
    from eth_utils import to_checksum_address
except ImportError:
    HAS_ETH_UTILS = False
    ETH_UTILS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_ETH_UTILS = True
    ETH_UTILS_IMPORT_ERROR = None

OUTPUT_TYPES = ["(bytes32,uint128,uint128)"]


def oracle_state(client: RpcClient, expect_chain_id: int | None, oracle: str) -> dict:
    calls = [
        Call("eth_chainId"), Call("eth_getBlockByNumber", ["latest", False]), Call("eth_getCode", [oracle, "latest"]),
        eth_call(oracle, "latestOutputIndex()"), eth_call(oracle, "nextBlockNumber()"),
        eth_call(oracle, "SUBMISSION_INTERVAL()"), eth_call(oracle, "PROPOSER()"),
        eth_call(oracle, "latestBlockNumber()"),
    ]
    chain_id, head, code, index, next_block, interval, proposer, latest_block = client.batch(calls)
    for item, call in zip((chain_id, head, code), calls[:3], strict=True):
        if isinstance(item, CallError):
            raise RpcError(f"{call.method} on {client.endpoint} failed: {item.message}")
    facts = {"chain_id": check_chain_id(client, chain_id, expect_chain_id), "address": oracle}
    if code in (None, "0x", "0x0"):
        raise RpcError(f"no contract at {oracle} on chain {facts['chain_id']} ({client.endpoint}): "
                       "check the L2OutputOracle address in the inventory")
    for name, item in (("next_block_number", next_block), ("submission_interval", interval),
                       ("latest_block_number", latest_block)):
        facts[name] = _uint(item, name, oracle, client)
    if not isinstance(proposer, CallError):
        proposer = to_checksum_address(decode(["address"], proposer)[0])
    facts["proposer"] = None if isinstance(proposer, CallError) else proposer
    head_time = hex_int(head["timestamp"])
    facts.update(l1_head=hex_int(head["number"]), l1_timestamp=head_time)
    if isinstance(index, CallError):  # latestOutputIndex() reverts while nothing was proposed
        facts.update(latest_index=None, latest_output=None, age_seconds=None, proposed=False,
                     empty_reason=revert_reason(index))
        return facts
    facts["latest_index"] = decode(["uint256"], index)[0]
    raw = client.require([eth_call(oracle, "getL2Output(uint256)", ["uint256"], [facts["latest_index"]])])[0]
    root, timestamp, l2_block = decode(OUTPUT_TYPES, raw)[0]
    facts["latest_output"] = {"output_root": "0x" + root.hex(), "timestamp": timestamp, "l2_block_number": l2_block}
    facts.update(age_seconds=max(0, head_time - timestamp), proposed=True)
    return facts


def compare_with_op_node(op_node: RpcClient, facts: dict) -> dict:
    """optimism_outputAtBlock for the latest output's L2 block: the root op-node computes, and `mismatch`."""
    output = facts.get("latest_output")
    if not output:
        return {"op_node_output_root": None, "mismatch": None}
    try:
        reply = op_node.call("optimism_outputAtBlock", hex(output["l2_block_number"]))
    except RpcError as exc:
        return {"op_node_output_root": None, "mismatch": None, "op_node_error": str(exc)}
    computed = str(reply.get("outputRoot", "")).lower()
    return {"op_node_output_root": computed, "mismatch": computed != output["output_root"].lower(),
            "op_node_endpoint": op_node.endpoint}


def _uint(item: object, name: str, oracle: str, client: RpcClient) -> int:
    if isinstance(item, CallError):
        raise RpcError(f"{name} of L2OutputOracle {oracle} reverted on {client.endpoint}: {revert_reason(item)}. "
                       "Is this address an L2OutputOracle?")
    return decode(["uint256"], item)[0]


def compare_recent_outputs(client: RpcClient, op_node: RpcClient, facts: dict, count: int) -> dict:
    """The latest `count` outputs (one batch on each side), each compared with op-node's root for its block.

    A bogus root is soon followed by honest ones, so checking only the latest output can miss it.
    """
    latest = facts.get("latest_index")
    if latest is None or count < 1:
        return {"recent_outputs": [], "mismatched_outputs": []}
    oracle = facts["address"]
    indexes = list(range(max(0, latest - count + 1), latest + 1))
    raws = client.require([eth_call(oracle, "getL2Output(uint256)", ["uint256"], [i]) for i in indexes])
    outputs = []
    for index, raw in zip(indexes, raws, strict=True):
        root, timestamp, l2_block = decode(OUTPUT_TYPES, raw)[0]
        outputs.append({"index": index, "output_root": "0x" + root.hex(), "timestamp": timestamp,
                        "l2_block_number": l2_block})
    replies = op_node.batch([Call("optimism_outputAtBlock", [hex(o["l2_block_number"])]) for o in outputs])
    for output, reply in zip(outputs, replies, strict=True):
        if isinstance(reply, CallError) or not isinstance(reply, dict):
            output.update(op_node_output_root=None, mismatch=None,
                          op_node_error=reply.message if isinstance(reply, CallError) else "no answer")
            continue
        computed = str(reply.get("outputRoot", "")).lower()
        output.update(op_node_output_root=computed, mismatch=computed != output["output_root"].lower())
    return {"recent_outputs": outputs, "mismatched_outputs": [o for o in outputs if o["mismatch"]]}
