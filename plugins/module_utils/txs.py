# -*- coding: utf-8 -*-
"""Signing, sending and confirming EIP-1559 transactions (eth-account, the signer of web3.py)."""

from __future__ import annotations

import time

from ansible_collections.jeju.ops.plugins.module_utils.rpc import (
    Call,
    CallError,
    RpcClient,
    RpcError,
    hex_int,
)

DEFAULT_PRIORITY_WEI = 10**9  # 1 gwei when the node does not suggest one
ALREADY_KNOWN = ("already known", "known transaction", "already imported")


class SendRejected(RpcError):
    """The node refused the transaction: it is certainly not in its pool."""


def address_of(key: str) -> str:
    from eth_account import Account

    return Account.from_key(key).address


def eip1559_fees(block: dict, priority: object) -> tuple[int, int]:
    """(maxFeePerGas, maxPriorityFeePerGas): room for the base fee to double twice, as wallets do."""
    tip = DEFAULT_PRIORITY_WEI if priority is None or isinstance(priority, CallError) else hex_int(priority)
    base = hex_int(block.get("baseFeePerGas") or "0x0")
    return 2 * base + tip, tip


def sign(key: str, tx: dict) -> tuple[str, str]:
    """(raw transaction hex, transaction hash hex)."""
    from eth_account import Account

    signed = Account.sign_transaction(tx, key)
    return "0x" + signed.raw_transaction.hex(), "0x" + signed.hash.hex()


def send_raw(client: RpcClient, raw: str, tx_hash: str) -> str:
    result = client.batch([Call("eth_sendRawTransaction", [raw])])[0]
    if isinstance(result, CallError):
        if any(text in result.message.lower() for text in ALREADY_KNOWN):
            return tx_hash
        raise SendRejected(f"{client.endpoint} refused transaction {tx_hash}: {result.message}")
    return str(result)


def wait_receipt(client: RpcClient, tx_hash: str, confirmations: int, timeout: float,
                 poll: float = 0.2) -> dict:
    """The receipt once the transaction has `confirmations` blocks (its own included)."""
    deadline = time.monotonic() + timeout
    while True:
        receipt, head = client.require([Call("eth_getTransactionReceipt", [tx_hash]), Call("eth_blockNumber")])
        if receipt and hex_int(head) - hex_int(receipt["blockNumber"]) + 1 >= confirmations:
            return receipt
        if time.monotonic() > deadline:
            state = "mined but not yet confirmed" if receipt else "not mined"
            raise RpcError(
                f"transaction {tx_hash} is {state} after {timeout:.0f} s on {client.endpoint}. "
                "It is recorded; run again to keep waiting (it will not be sent twice), or check the fees."
            )
        time.sleep(poll)
