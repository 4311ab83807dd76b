# -*- coding: utf-8 -*-
"""The bridge's pipeline for bridge_pipeline, stage by stage, each stage's reads in one batched request:

1. L1: the head at every L1 endpoint at once (one thread each). The highest head is L1's head; an endpoint far
   below it lags (a provider that stopped syncing still answers). The freshest endpoint answers what follows.
2. Deposits on L1: the OptimismPortal's TransactionDeposited logs in the window, with the portal's and the
   SuperchainConfig's paused() and the guardian (one request).
3. Deposits on L2: each deposit's L2 transaction hash, computed from its log (module_utils.deposits), asked for
   its receipt on L2, with the L2 head (one request).
4. op-node: optimism_syncStatus: its own view of L1's head (head_l1), how far derivation read (current_l1), the
   unsafe head's L1 origin (deposits are included up to it), and the safe and finalized heads.
5. Outputs: the L2OutputOracle's latest output and its age against L1's head (module_utils.oracle).

An endpoint that does not answer is a fact of the result (its `error`), never a failure: the decision reads it.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.jeju.ops.plugins.module_utils.abi import decode, eth_call
from ansible_collections.jeju.ops.plugins.module_utils.deposits import TRANSACTION_DEPOSITED, decode_deposit
from ansible_collections.jeju.ops.plugins.module_utils.oracle import oracle_state
from ansible_collections.jeju.ops.plugins.module_utils.rpc import (
    Call,
    CallError,
    RpcClient,
    RpcError,
    check_chain_id,
    hex_int,
    redact_url,
)

RECEIPTS_PER_REQUEST = 200


def _age(timestamp: int) -> float:
    return round(max(0.0, time.time() - timestamp), 1)


def _endpoint_head(url: str, chain_id: int | None, timeout: float, tls: dict) -> dict:
    client = RpcClient([url], timeout=timeout, **tls)
    try:
        found, block = client.require([Call("eth_chainId"), Call("eth_getBlockByNumber", ["latest", False])])
        check_chain_id(client, found, chain_id)
    except RpcError as exc:
        return {"number": None, "hash": None, "timestamp": None, "age_seconds": None, "ok": False, "error": str(exc)}
    timestamp = hex_int(block["timestamp"])
    return {"number": hex_int(block["number"]), "hash": block["hash"], "timestamp": timestamp,
            "age_seconds": _age(timestamp), "ok": True, "error": None}


def l1_heads(urls: list[str], chain_id: int | None, timeout: float, tls: dict) -> dict:
    """Every L1 endpoint's head, read at once; L1's head is the highest, each endpoint's lag is measured from it."""
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        heads = list(pool.map(lambda url: _endpoint_head(url, chain_id, timeout, tls), urls))
    answered = [h for h in heads if h["ok"]]
    best = max(answered, key=lambda h: h["number"]) if answered else None
    endpoints = []
    for index, (url, head) in enumerate(zip(urls, heads, strict=True)):
        lag = best["number"] - head["number"] if best and head["ok"] else None
        endpoints.append(dict(head, index=index, role="primary" if index == 0 else "backup", url=url,
                              endpoint=redact_url(url), lag_blocks=lag))
    if best is None:
        return {"ok": False, "head": None, "timestamp": None, "age_seconds": None, "endpoint": None, "url": None,
                "endpoints": endpoints, "error": "; ".join(f"{e['endpoint']}: {e['error']}" for e in endpoints)}
    freshest = next(e for e in endpoints if e["ok"] and e["number"] == best["number"])
    return {"ok": True, "head": best["number"], "hash": best["hash"], "timestamp": best["timestamp"],
            "age_seconds": best["age_seconds"], "endpoint": freshest["endpoint"], "url": freshest["url"],
            "endpoints": endpoints, "error": None}


def _paused(item: object) -> bool | None:
    return None if isinstance(item, CallError) else bool(decode(["bool"], item)[0])


def portal_deposits(client: RpcClient, portal: str, superchain_config: str | None, from_block: int,
                    to_block: int) -> dict:
    """The portal's deposits in [from_block, to_block] (none when the range is empty), and the paused state, in one
    request."""
    calls = [eth_call(portal, "paused()")]
    if superchain_config:
        calls += [eth_call(superchain_config, "paused()"), eth_call(superchain_config, "guardian()")]
    if from_block <= to_block:  # a node refuses a range that starts after its head
        calls.append(Call("eth_getLogs", [{"address": portal, "topics": [TRANSACTION_DEPOSITED],
                                           "fromBlock": hex(from_block), "toBlock": hex(to_block)}]))
    results = client.batch(calls)
    logs = results[-1] if from_block <= to_block else []
    if isinstance(logs, CallError):
        raise RpcError(f"eth_getLogs of the OptimismPortal {portal} on {client.endpoint} failed: {logs.message}")
    deposits = sorted((decode_deposit(log) for log in logs or []), key=lambda d: (d["l1_block"], d["log_index"]))
    paused = {"portal": _paused(results[0]), "superchain_config": None, "guardian": None}
    if superchain_config:
        paused["superchain_config"] = _paused(results[1])
        if not isinstance(results[2], CallError):
            from eth_utils import to_checksum_address

            paused["guardian"] = to_checksum_address(decode(["address"], results[2])[0])
    return {"deposits": deposits, "paused": paused}


def l2_inclusion(client: RpcClient, chain_id: int | None, deposits: list[dict]) -> dict:
    """The L2 head, and each deposit's L2 receipt (included, l2_block, l2_status), in batched requests."""
    found, head = client.require([Call("eth_chainId"), Call("eth_getBlockByNumber", ["latest", False])])
    check_chain_id(client, found, chain_id)
    hashes = [d["l2_tx_hash"] for d in deposits]
    receipts: list[object] = []
    for start in range(0, len(hashes), RECEIPTS_PER_REQUEST):
        chunk = hashes[start:start + RECEIPTS_PER_REQUEST]
        receipts += client.require([Call("eth_getTransactionReceipt", [h]) for h in chunk])
    for deposit, receipt in zip(deposits, receipts, strict=True):
        included = isinstance(receipt, dict)
        deposit.update(included=included, l2_block=hex_int(receipt["blockNumber"]) if included else None,
                       l2_status=("success" if hex_int(receipt["status"]) == 1 else "reverted") if included else None)
    timestamp = hex_int(head["timestamp"])
    return {"ok": True, "head": hex_int(head["number"]), "timestamp": timestamp, "age_seconds": _age(timestamp),
            "endpoint": client.endpoint, "error": None}


def _ref(status: dict, name: str) -> dict:
    ref = status.get(name) or {}
    timestamp = ref.get("timestamp")
    found = {"number": ref.get("number"), "hash": ref.get("hash"), "timestamp": timestamp,
             "age_seconds": _age(timestamp) if isinstance(timestamp, int) else None}
    if "l1origin" in ref:
        found["l1_origin"] = (ref.get("l1origin") or {}).get("number")
    return found


def op_node_view(client: RpcClient, l1_head: int | None) -> dict:
    """op-node's L1 view, derivation and L2 heads; each L1 ref's lag behind L1's head in blocks."""
    try:
        status = client.call("optimism_syncStatus") or {}
    except RpcError as exc:
        return {"reachable": False, "error": str(exc)}
    view = {"reachable": True, "error": None, "endpoint": client.endpoint}
    for name in ("head_l1", "current_l1", "safe_l1", "finalized_l1", "unsafe_l2", "safe_l2", "finalized_l2"):
        view[name] = _ref(status, name)

    def lag(number: object) -> int | None:
        return l1_head - int(number) if l1_head is not None and isinstance(number, int) else None

    view["lag_blocks"] = {"head_l1": lag(view["head_l1"]["number"]), "current_l1": lag(view["current_l1"]["number"]),
                          "unsafe_l1_origin": lag(view["unsafe_l2"].get("l1_origin"))}
    return view


def bridge_pipeline(params: dict, tls: dict) -> dict:
    p, timeout = params, params["timeout"]
    l1 = l1_heads(p["l1_rpc_urls"], p["l1_chain_id"], timeout, tls)
    op_node = op_node_view(RpcClient([p["op_node_rpc_url"]], timeout=timeout, **tls), l1["head"])
    result = {"changed": False, "l1": l1, "op_node": op_node, "deposits": [], "paused": {}, "oracle": None,
              "l2": {"ok": False, "error": "not read"}, "window": {}}
    if not l1["ok"]:
        return result
    head = l1["head"]
    start = p["from_block"] if p["from_block"] is not None else head - p["scan_blocks"] + 1
    start = max(0, min(start, head + 1))
    client = RpcClient([l1["url"]], timeout=timeout, **tls)
    try:
        read = portal_deposits(client, p["optimism_portal"], p["superchain_config"], start, head)
    except (RpcError, ValueError) as exc:
        result["window"] = {"from_block": start, "to_block": head, "error": str(exc)}
        return result
    deposits = read["deposits"]
    for deposit in deposits:
        deposit.update(age_blocks=head - deposit["l1_block"], due=head - deposit["l1_block"] >= p["window_blocks"],
                       included=None, l2_block=None, l2_status=None)
    l2_client = RpcClient(p["l2_rpc_urls"], timeout=timeout, **tls)
    try:
        result["l2"] = l2_inclusion(l2_client, p["l2_chain_id"], deposits)
    except RpcError as exc:
        result["l2"] = {"ok": False, "head": None, "timestamp": None, "age_seconds": None, "error": str(exc)}
    if p["l2_output_oracle"]:
        try:
            result["oracle"] = oracle_state(client, p["l1_chain_id"], p["l2_output_oracle"])
        except RpcError as exc:
            result["oracle"] = {"error": str(exc)}
    missing = [d for d in deposits if d["due"] and d["included"] is False]
    result.update(deposits=deposits, paused=read["paused"], window={
        "from_block": start, "to_block": head, "window_blocks": p["window_blocks"], "seen": len(deposits),
        "included": sum(1 for d in deposits if d["included"]),
        "due": sum(1 for d in deposits if d["due"]), "missing": len(missing),
        "oldest_missing": missing[0] if missing else None,
    })
    return result
