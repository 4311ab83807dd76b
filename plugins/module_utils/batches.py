# -*- coding: utf-8 -*-
"""Batch activity on the settlement chain, found through the batcher's nonce.

Batches emit no events: a batch is a transaction from the batcher to the batch inbox. Instead of scanning
blocks, the batcher's nonce at a block says how many transactions it had sent by then, so the block holding a
given transaction, and the block at which the window starts, are found by a k-ary search (16 probes per
batched request): about log16(head) round trips, then one block read to name the transaction.
"""

from __future__ import annotations

from ansible_collections.jeju.ops.plugins.module_utils.rpc import (
    Call,
    RpcClient,
    RpcError,
    block_tag,
    check_chain_id,
    hex_int,
)

FANOUT = 16
LOOKBACK_TXS = 4  # how many of the batcher's latest transactions may go elsewhere than the inbox


def first_block_where(client: RpcClient, lo: int, hi: int, calls_for, test) -> tuple[int, list]:
    """Smallest block in [lo, hi] for which `test(results)` holds (monotonic; must hold at hi)."""
    found: list = []
    while lo < hi:
        step = max(1, (hi - lo) // FANOUT)
        probes = list(range(lo, hi, step))[:FANOUT]
        per_probe = [calls_for(b) for b in probes]
        flat = client.require([c for calls in per_probe for c in calls])
        width = len(per_probe[0])
        next_lo, next_hi = lo, hi
        for i, block in enumerate(probes):
            results = flat[i * width:(i + 1) * width]
            if test(results):
                next_hi, found = block, results
                break
            next_lo = block + 1
        lo, hi = next_lo, next_hi
    return hi, found


def batch_activity(client: RpcClient, expect_chain_id: int | None, batcher: str, inbox: str,
                   window_seconds: float) -> dict:
    chain_id, head, nonce_raw = client.require([
        Call("eth_chainId"), Call("eth_getBlockByNumber", ["latest", False]),
        Call("eth_getTransactionCount", [batcher, "latest"]),
    ])
    facts = {"chain_id": check_chain_id(client, chain_id, expect_chain_id)}
    head_number, head_time, nonce = hex_int(head["number"]), hex_int(head["timestamp"]), hex_int(nonce_raw)
    facts.update(head_block=head_number, batcher_nonce=nonce)
    try:
        start, start_nonce = window_start(client, head_number, head_time - window_seconds, batcher, nonce)
        facts.update(window_start_block=start, window_batcher_txs=nonce - start_nonce)
        in_window = facts["window_batcher_txs"] > 0
        facts["last_batch"] = last_batch(client, batcher, inbox, nonce, head_number,
                                         start if in_window else 0, head_time)
    except RpcError as exc:
        raise RpcError(
            f"{exc}. Reading the batcher's nonce at past blocks needs the node's state for them: "
            "use an endpoint that keeps more history (archive) or a shorter window_seconds."
        ) from None
    facts["batches_in_window"] = facts["window_batcher_txs"]
    return facts


def window_start(client: RpcClient, head: int, since: float, batcher: str, head_nonce: int) -> tuple[int, int]:
    """First block at or after `since` and the batcher's nonce just before it (asked with each probe)."""
    def calls_for(block: int) -> list[Call]:
        return [Call("eth_getBlockByNumber", [block_tag(block), False]),
                Call("eth_getTransactionCount", [batcher, block_tag(max(0, block - 1))])]

    start, found = first_block_where(client, 0, head, calls_for, lambda r: hex_int(r[0]["timestamp"]) >= since)
    if start == 0:
        return 0, 0
    if not found:  # the head itself starts the window
        found = client.require(calls_for(start))
    return start, min(hex_int(found[1]), head_nonce)


def last_batch(client: RpcClient, batcher: str, inbox: str, nonce: int, head: int, lo: int,
               head_time: int) -> dict | None:
    """The batcher's latest transaction to the inbox, looking back at most LOOKBACK_TXS transactions.

    `lo` is a block at or before the one holding the batcher's latest transaction (the window start when the
    window holds one)."""
    hi = head
    for target in range(nonce, max(0, nonce - LOOKBACK_TXS), -1):
        block, _found = first_block_where(
            client, min(lo, hi), hi,
            lambda b: [Call("eth_getTransactionCount", [batcher, block_tag(b)])],
            lambda r, t=target: hex_int(r[0]) >= t,
        )
        full = client.call("eth_getBlockByNumber", block_tag(block), True)
        for tx in full["transactions"]:
            if (tx["from"].lower() == batcher.lower() and hex_int(tx["nonce"]) == target - 1
                    and (tx.get("to") or "").lower() == inbox.lower()):
                timestamp = hex_int(full["timestamp"])
                return {"hash": tx["hash"], "block": block, "timestamp": timestamp,
                        "age_seconds": max(0, head_time - timestamp), "nonce": target - 1}
        hi = block
    return None
