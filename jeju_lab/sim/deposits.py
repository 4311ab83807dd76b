"""Deposits as op-node derives them: each TransactionDeposited log of the OptimismPortal in the L1 blocks the
sequencer's L1 origin moves past becomes a deposit transaction (type 0x7e) at the start of the L2 block sealed on
that origin. The origin follows op-node's L1 endpoint, so an L1 view that stops advancing stops deposits, while
blocks are still sealed on the old origin (what a lagging L1 provider does to a real op-node).

The L2 anvil runs with `--network optimism`, which takes raw deposit transactions: the mint really lands on the
sender and the value on the recipient, and the L2 transaction hash is the one any client computes from the L1 log
alone: keccak256(0x7e ++ rlp([sourceHash, from, to, mint, value, gas, isSystemTx, data])), with the user-deposit
source hash keccak256(uint256(0) ++ keccak256(l1BlockHash ++ uint256(logIndex))).
"""

from __future__ import annotations

from dataclasses import dataclass

import rlp  # type: ignore[import-untyped]
from eth_utils.crypto import keccak

from jeju_lab.sim.logfmt import ComponentLog
from jeju_lab.sim.rollup import ZERO_ADDRESS, BlockRef
from jeju_lab.sim.rpc import JsonRpcClient, RpcError, RpcUnavailable, hex_int

TRANSACTION_DEPOSITED = "0x" + keccak(text="TransactionDeposited(address,address,uint256,bytes)").hex()
DEPOSIT_TX_TYPE = b"\x7e"
USER_DEPOSIT_DOMAIN = bytes(32)
ALREADY_KNOWN = "already known"


def _bytes(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def source_hash(l1_block_hash: str, log_index: int) -> bytes:
    """The source hash of a user deposit (deposit spec, domain 0)."""
    return keccak(USER_DEPOSIT_DOMAIN + keccak(_bytes(l1_block_hash) + log_index.to_bytes(32, "big")))


@dataclass(frozen=True)
class Deposit:
    """One TransactionDeposited log, as the L2 deposit transaction it becomes."""

    l1_block: int
    log_index: int
    source: bytes
    sender: bytes
    to: bytes  # empty for a contract creation
    mint: int
    value: int
    gas: int
    data: bytes

    @classmethod
    def from_log(cls, log: dict[str, object]) -> Deposit:
        topics = [str(t) for t in log["topics"]]  # type: ignore[attr-defined]
        opaque = _bytes(str(log["data"]))
        # data is abi.encode(bytes opaqueData): offset, length, then the packed fields
        length = int.from_bytes(opaque[32:64], "big")
        packed = opaque[64:64 + length]
        creation = packed[72] == 1
        return cls(
            l1_block=hex_int(log["blockNumber"]),
            log_index=hex_int(log["logIndex"]),
            source=source_hash(str(log["blockHash"]), hex_int(log["logIndex"])),
            sender=_bytes(topics[1])[12:],
            to=b"" if creation else _bytes(topics[2])[12:],
            mint=int.from_bytes(packed[0:32], "big"),
            value=int.from_bytes(packed[32:64], "big"),
            gas=int.from_bytes(packed[64:72], "big"),
            data=packed[73:],
        )

    def raw(self) -> bytes:
        fields = [self.source, self.sender, self.to, self.mint, self.value, self.gas, False, self.data]
        return DEPOSIT_TX_TYPE + bytes(rlp.encode(fields))

    @property
    def tx_hash(self) -> str:
        return "0x" + keccak(self.raw()).hex()


class DepositFeed:
    """The deposits the sequencer includes: those of the L1 blocks its origin moved past, oldest first.

    The L2 anvil's pool holds one deposit per sender at a time (a deposit has no nonce of its own), so each block
    takes the oldest deposits up to the first sender already in it; a backlog drains over the next blocks, in L1
    order, as a real sequencer's does over an epoch.
    """

    def __init__(self, portal: str, l2: JsonRpcClient, log: ComponentLog) -> None:
        self.portal = portal
        self.l2 = l2
        self.log = log
        self.fetched_through = -1  # the last L1 block whose deposits were read (the lab's L1 starts with the portal)
        self.queue: list[Deposit] = []  # read from L1, not on L2 yet
        self.included = 0

    @property
    def enabled(self) -> bool:
        return self.portal.lower() != ZERO_ADDRESS

    async def include(self, l1: JsonRpcClient, origin: BlockRef) -> int:
        """Read the deposits of the L1 blocks up to `origin` and send the next ones to the L2 pool; returns how many
        were sent. After an RPC error the next block sealed goes on where this one stopped."""
        if not self.enabled:
            return 0
        sent = 0
        try:
            if origin.number > self.fetched_through:
                logs = await l1.call("eth_getLogs", {"address": self.portal, "topics": [TRANSACTION_DEPOSITED],
                                                     "fromBlock": hex(self.fetched_through + 1),
                                                     "toBlock": hex(origin.number)})
                self.queue += sorted((Deposit.from_log(item) for item in logs or []),
                                     key=lambda d: (d.l1_block, d.log_index))
                self.fetched_through = origin.number
            for deposit in self._next_block():
                await self._send(deposit)
                self.queue.pop(0)
                sent += 1
        except (RpcUnavailable, RpcError) as exc:
            self.log.warn("Failed to derive deposits of the L1 origin", origin=origin.number, err=str(exc))
        self.included += sent
        if sent:
            self.log.info("Included deposits", count=sent, pending=len(self.queue),
                          l1Origin=f"{origin.hash}:{origin.number}")
        return sent

    def _next_block(self) -> list[Deposit]:
        senders: set[bytes] = set()
        taken = []
        for deposit in self.queue:
            if deposit.sender in senders:
                break
            senders.add(deposit.sender)
            taken.append(deposit)
        return taken

    async def _send(self, deposit: Deposit) -> None:
        try:
            await self.l2.call("eth_sendRawTransaction", "0x" + deposit.raw().hex())
        except RpcError as exc:
            if ALREADY_KNOWN not in exc.rpc_message.lower():
                raise
