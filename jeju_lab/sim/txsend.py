"""Send a real signed EIP-1559 transaction and wait for its receipt (what op-service/txmgr does, minus
fee bumping). Errors carry the node's own words ("insufficient funds for gas * price + value ...")."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from eth_account import Account

from jeju_lab.sim.rpc import JsonRpcClient, hex_int
from jeju_play.errors import LabError

GWEI = 10**9
MIN_TIP_WEI = 1 * GWEI  # txmgr's default min tip cap


class FeeAboveLimit(LabError):
    """The fee the transaction would need is above the configured limit."""


class NotConfirmed(LabError):
    """No receipt within the wait."""


@dataclass(frozen=True)
class Fees:
    base_fee_wei: int
    tip_wei: int

    @property
    def fee_cap_wei(self) -> int:
        return self.tip_wei + 2 * self.base_fee_wei  # txmgr's calcGasFeeCap


async def suggest_fees(l1: JsonRpcClient) -> Fees:
    head, tip = await l1.batch(
        [("eth_getBlockByNumber", ["latest", False]), ("eth_maxPriorityFeePerGas", [])]
    )
    return Fees(base_fee_wei=hex_int(head["baseFeePerGas"]), tip_wei=max(hex_int(tip), MIN_TIP_WEI))


@dataclass(frozen=True)
class SentTx:
    tx_hash: str
    receipt: dict[str, Any]

    @property
    def ok(self) -> bool:
        return hex_int(self.receipt["status"]) == 1

    @property
    def block_number(self) -> int:
        return hex_int(self.receipt["blockNumber"])


class TxSender:
    """One account's sender on one chain. The key never leaves this object nor appears in errors."""

    def __init__(
        self, private_key: str, chain_id: int, receipt_timeout_s: float = 10.0, receipt_poll_s: float = 0.1
    ) -> None:
        self._account = Account.from_key(private_key)
        self.address: str = self._account.address
        self.chain_id = chain_id
        self.receipt_timeout_s = receipt_timeout_s
        self.receipt_poll_s = receipt_poll_s

    async def send(self, l1: JsonRpcClient, to: str, data: bytes, fee_limit_wei: int | None = None) -> SentTx:
        fees = await suggest_fees(l1)
        if fee_limit_wei is not None and fees.fee_cap_wei > fee_limit_wei:
            raise FeeAboveLimit(
                f"fee cap {fees.fee_cap_wei / GWEI:.1f} gwei is above the fee limit "
                f"{fee_limit_wei / GWEI:.1f} gwei (L1 base fee {fees.base_fee_wei / GWEI:.1f} gwei)"
            )
        call = {"from": self.address, "to": to, "data": "0x" + data.hex()}
        gas, nonce = await l1.batch(
            [("eth_estimateGas", [call]), ("eth_getTransactionCount", [self.address, "pending"])]
        )
        tx = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": hex_int(nonce),
            "to": to,
            "value": 0,
            "data": data,
            "gas": hex_int(gas) * 12 // 10,
            "maxFeePerGas": fees.fee_cap_wei,
            "maxPriorityFeePerGas": fees.tip_wei,
        }
        signed = self._account.sign_transaction(tx)
        tx_hash = await l1.call("eth_sendRawTransaction", "0x" + bytes(signed.raw_transaction).hex())
        return SentTx(tx_hash, await self.wait_receipt(l1, tx_hash))

    async def wait_receipt(self, l1: JsonRpcClient, tx_hash: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.receipt_timeout_s
        while loop.time() < deadline:
            receipt = await l1.call("eth_getTransactionReceipt", tx_hash)
            if receipt is not None:
                return dict(receipt)
            await asyncio.sleep(self.receipt_poll_s)
        raise NotConfirmed(f"transaction {tx_hash} not confirmed within {self.receipt_timeout_s:.0f} s")
