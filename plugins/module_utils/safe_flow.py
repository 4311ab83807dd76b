# -*- coding: utf-8 -*-
"""The safe_tx module's actions: hash, sign, status and execute (simulated first; only simulated in check mode)."""

from __future__ import annotations

import json
import os

from ansible_collections.jeju.ops.plugins.module_utils.abi import decode, eth_call, revert_reason
from ansible_collections.jeju.ops.plugins.module_utils.common import ModuleFailure, checksum
from ansible_collections.jeju.ops.plugins.module_utils.rpc import Call, CallError, RpcClient, hex_int
from ansible_collections.jeju.ops.plugins.module_utils.safe import (
    SafeTx,
    execution_logged,
    explain,
    ordered_signatures,
    pause_data,
    presigned_dict,
    read_presigned,
    read_safe,
    receipt_executed,
    recover,
    sign_with_keys,
)
from ansible_collections.jeju.ops.plugins.module_utils.txs import (
    address_of,
    eip1559_fees,
    send_raw,
    sign,
    wait_receipt,
)


def build_tx(p: dict, safe: str, state) -> tuple[SafeTx, bytes]:
    """The Safe transaction from the module's call fields and/or the pre-signed file, and the file's signatures."""
    call_given = p["to"] is not None
    tx = None
    if call_given:
        data = pause_data(p["pause"]) if p["pause"] is not None else (p["data"] or "0x")
        nonce = p["nonce"] if p["nonce"] is not None else state.nonce
        tx = SafeTx(state.chain_id, safe, nonce, checksum(p["to"], "to"), data, int(p["value"] or 0), p["operation"])
    if not p["presigned_file"]:
        if tx is None:
            raise ModuleFailure("say what to sign: give to (with data or pause), or a presigned_file")
        return tx, b""
    file_tx, signatures = read_presigned(p["presigned_file"])
    if file_tx.safe.lower() != safe.lower() or file_tx.chain_id != state.chain_id:
        raise ModuleFailure(f"{p['presigned_file']} is for Safe {file_tx.safe} on chain {file_tx.chain_id}, "
                            f"not Safe {safe} on chain {state.chain_id}")
    if tx is not None and p["nonce"] is None:
        tx = SafeTx(**{**tx.__dict__, "nonce": file_tx.nonce})
    if tx is not None and tx.hash() != file_tx.hash():
        raise ModuleFailure(f"{p['presigned_file']} signs a different transaction (safe_tx_hash {file_tx.hash_hex()}) "
                            f"than the one given ({tx.hash_hex()}): check to, data, value and nonce")
    return file_tx, signatures


def run_safe_tx(client: RpcClient, p: dict, check_mode: bool) -> dict:
    safe = checksum(p["address"], "Safe address")
    extra = [eth_call(checksum(p["to"], "to"), "paused()")] if p["pause"] is not None and p["to"] else []
    state, more = read_safe(client, safe, p["expect_chain_id"], extra)
    tx, file_signatures = build_tx(p, safe, state)
    facts = {"safe": safe, "chain_id": state.chain_id, "safe_nonce": state.nonce, "threshold": state.threshold,
             "owners": list(state.owners), "nonce": tx.nonce, "to": tx.to, "value": tx.value, "data": tx.data,
             "safe_tx_hash": tx.hash_hex(), "tx_hash": None, "executed": False}
    if more and not isinstance(more[0], CallError):
        facts["paused_before"] = bool(decode(["bool"], more[0])[0])
    if p["action"] == "hash":
        return dict(facts, changed=False)
    found = recover(tx, file_signatures) if file_signatures else {}
    found.update(sign_with_keys(tx, p["owner_keys"] or []))
    signatures, signers = ordered_signatures(found, state, safe)
    facts.update(signers=signers, signatures_count=len(signers), ready=len(signers) >= state.threshold)
    if p["action"] == "sign":
        return write_signed(p, tx, signers, signatures, facts, check_mode)
    if p["action"] == "status":
        executed = state.nonce > tx.nonce and bool(execution_logged(client, safe, facts["safe_tx_hash"]))
        return dict(facts, changed=False, executed=executed)
    return execute(client, p, tx, state, signatures, facts, check_mode)


def write_signed(p: dict, tx: SafeTx, signers: list, signatures: bytes, facts: dict, check_mode: bool) -> dict:
    facts["signatures"] = "0x" + signatures.hex()
    if not p["output_dir"]:
        return dict(facts, changed=False)
    path = os.path.join(p["output_dir"], f"ready-{tx.nonce}.json")
    facts["presigned_file"] = path
    if not check_mode:
        os.makedirs(p["output_dir"], exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(presigned_dict(tx, signers, signatures, p["description"] or ""), handle, indent=2)
    return dict(facts, changed=True)


def execute(client: RpcClient, p: dict, tx: SafeTx, state, signatures: bytes, facts: dict, check_mode: bool) -> dict:
    if state.nonce > tx.nonce:
        if execution_logged(client, tx.safe, facts["safe_tx_hash"]):
            return dict(facts, changed=False, executed=True, msg=f"Safe transaction {facts['safe_tx_hash']} "
                        "was already executed")
        raise ModuleFailure(f"Safe {tx.safe} already used nonce {tx.nonce} for another transaction (its nonce is "
                            f"{state.nonce}): sign this transaction again at nonce {state.nonce}", **facts)
    if state.nonce < tx.nonce:
        raise ModuleFailure(f"the transaction has nonce {tx.nonce} but Safe {tx.safe} is at nonce {state.nonce}: "
                            f"transactions {state.nonce}..{tx.nonce - 1} must be executed first", **facts)
    if len(facts["signers"]) < state.threshold:
        raise ModuleFailure(
            f"refused: {len(facts['signers'])} of the {state.threshold} signatures Safe {tx.safe} requires "
            f"({', '.join(facts['signers']) or 'none'}); collect more owner signatures", **facts)
    key = executor_key(p)
    sender = address_of(key)
    call = {"from": sender, "to": tx.safe, "data": tx.exec_data(signatures)}
    simulated, gas, nonce, block, tip = client.batch([
        Call("eth_call", [call, "latest"]), Call("eth_estimateGas", [call]),
        Call("eth_getTransactionCount", [sender, "pending"]), Call("eth_getBlockByNumber", ["latest", False]),
        Call("eth_maxPriorityFeePerGas")])
    if isinstance(simulated, CallError) or isinstance(gas, CallError):
        reason = revert_reason(simulated if isinstance(simulated, CallError) else gas)
        raise ModuleFailure(f"Safe {tx.safe} would revert: {explain(reason)}", revert_reason=explain(reason), **facts)
    facts.update(simulated=True, executor=sender)
    if check_mode:
        return dict(facts, changed=True, msg="simulation succeeded; check mode sent nothing")
    max_fee, max_tip = eip1559_fees(block, tip)
    limit = hex_int(gas) + hex_int(gas) // 4
    raw, tx_hash = sign(key, {"type": 2, "chainId": tx.chain_id, "nonce": hex_int(nonce), "to": tx.safe,
                              "value": 0, "gas": limit, "maxFeePerGas": max_fee, "maxPriorityFeePerGas": max_tip,
                              "data": call["data"]})
    send_raw(client, raw, tx_hash)
    receipt = wait_receipt(client, tx_hash, p["confirmations"], p["receipt_timeout"])
    facts.update(tx_hash=tx_hash, block=hex_int(receipt["blockNumber"]), executed=receipt_executed(receipt, tx.safe))
    if not facts["executed"]:
        raise ModuleFailure(f"transaction {tx_hash} did not execute Safe transaction {facts['safe_tx_hash']} "
                            "(ExecutionFailure or reverted)", **facts)
    return dict(facts, changed=True)


def executor_key(p: dict) -> str:
    from ansible_collections.jeju.ops.plugins.module_utils.common import read_key

    if p["executor_key"] or p["executor_key_file"]:
        return read_key(p, "executor_key", "executor_key_file")
    if p["owner_keys"]:
        return p["owner_keys"][0]
    raise ModuleFailure("execute needs a key that pays for gas: set executor_key (or executor_key_file)")
