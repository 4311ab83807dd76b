"""Send a batch of signed transactions from one lab account without waiting between them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.types import TxReceipt

from jeju_play.errors import LabError

GWEI = 10**9


@dataclass
class PendingTx:
    label: str
    tx_hash: HexBytes


@dataclass
class TxBatch:
    """Signs locally with consecutive nonces and fixed gas limits, so a whole batch is sent before any
    receipt is awaited (fast with automine, and correct with interval mining too)."""

    w3: Web3
    signer: LocalAccount
    chain_id: int
    next_nonce: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    pending: list[PendingTx] = field(default_factory=list)

    @classmethod
    def start(cls, w3: Web3, signer: LocalAccount) -> TxBatch:
        base_fee = int(w3.eth.get_block("latest").get("baseFeePerGas", GWEI))
        tip = GWEI
        return cls(
            w3=w3,
            signer=signer,
            chain_id=w3.eth.chain_id,
            next_nonce=w3.eth.get_transaction_count(signer.address, "pending"),
            max_fee_per_gas=2 * base_fee + tip,
            max_priority_fee_per_gas=tip,
        )

    def send(
        self, label: str, to: str | None, data: str = "0x", value: int = 0, gas: int = 100_000
    ) -> HexBytes:
        tx: dict[str, Any] = {
            "chainId": self.chain_id,
            "nonce": self.next_nonce,
            "gas": gas,
            "value": value,
            "data": HexBytes(data),
            "maxFeePerGas": self.max_fee_per_gas,
            "maxPriorityFeePerGas": self.max_priority_fee_per_gas,
            "type": 2,
        }
        if to is not None:
            tx["to"] = Web3.to_checksum_address(to)
        signed = self.signer.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        self.next_nonce += 1
        self.pending.append(PendingTx(label, HexBytes(tx_hash)))
        return HexBytes(tx_hash)

    def wait(self, timeout: float = 30.0) -> list[TxReceipt]:
        """Receipts of every pending transaction, in order; LabError naming the first that reverted."""
        receipts = wait_for_receipts(self.w3, self.pending, timeout)
        self.pending = []
        return receipts


def wait_for_receipts(w3: Web3, pending: Sequence[PendingTx], timeout: float = 30.0) -> list[TxReceipt]:
    receipts = []
    for item in pending:
        receipt = w3.eth.wait_for_transaction_receipt(item.tx_hash, timeout=timeout, poll_latency=0.02)
        if receipt["status"] != 1:
            raise LabError(
                f"transaction '{item.label}' ({item.tx_hash.to_0x_hex()}) reverted in block "
                f"{receipt['blockNumber']}: replay it with `cast run` to see why."
            )
        receipts.append(receipt)
    return receipts
