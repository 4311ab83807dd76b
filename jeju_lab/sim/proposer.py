"""op-proposer (L2OutputOracle mode): every poll interval, once finalized_l2 reaches the oracle's
nextBlockNumber(), fetch that block's output from op-node and call proposeL2Output from the proposer key.
A stalled safe head therefore stops proposals with no error, as on a real chain."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp
from eth_abi.abi import encode
from eth_utils.crypto import keccak

from jeju_lab.sim.conditions import Conditions
from jeju_lab.sim.logfmt import ComponentLog
from jeju_lab.sim.output import to_bytes32
from jeju_lab.sim.rpc import JsonRpcClient, RpcError, RpcUnavailable, hex_int
from jeju_lab.sim.txsend import NotConfirmed, TxSender

NEXT_BLOCK_NUMBER = keccak(text="nextBlockNumber()")[:4]
PROPOSE_L2_OUTPUT = keccak(text="proposeL2Output(bytes32,uint256,bytes32,uint256)")[:4]


def propose_calldata(output_root: str, l2_block: int, l1_hash: str, l1_number: int) -> bytes:
    args = encode(
        ["bytes32", "uint256", "bytes32", "uint256"],
        [to_bytes32(output_root), l2_block, to_bytes32(l1_hash), l1_number],
    )
    return PROPOSE_L2_OUTPUT + args


@dataclass
class ProposerStats:
    proposals: int = 0
    failures: int = 0
    last_tx_hash: str = ""
    last_l2_block: int | None = None
    last_error: str = ""
    balance_wei: int | None = None
    last_proposed_ref: dict[str, Any] | None = None  # the L2 block ref of the last output proposed


class Proposer:
    def __init__(
        self, session: aiohttp.ClientSession, conditions: Conditions, sender: TxSender, log: ComponentLog
    ) -> None:
        self.session = session
        self.conditions = conditions
        self.sender = sender
        self.log = log
        self.stats = ProposerStats()

    async def step(self) -> bool:
        """One poll. Returns whether an output was proposed."""
        c = self.conditions
        if not c.proposer_running:
            return False
        if not c.proposer_l2oo_address:
            return self._failed(
                "Failed to start", "missing L2OutputOracle address (OP_PROPOSER_L2OO_ADDRESS)"
            )
        l1 = JsonRpcClient(self.session, c.proposer_l1_url)
        rollup = JsonRpcClient(self.session, c.proposer_rollup_url)
        try:
            self.stats.balance_wei = hex_int(await l1.call("eth_getBalance", self.sender.address, "latest"))
            if not c.proposer_can_reach_op_node:
                raise RpcUnavailable(f"Post {c.proposer_rollup_url!r}: dial tcp: i/o timeout")
            status = await rollup.call("optimism_syncStatus")
            next_block = hex_int(
                await l1.call(
                    "eth_call",
                    {"to": c.proposer_l2oo_address, "data": "0x" + NEXT_BLOCK_NUMBER.hex()},
                    "latest",
                )
            )
            if int(status["finalized_l2"]["number"]) < next_block:
                return False
            output = await rollup.call("optimism_outputAtBlock", hex(next_block))
            current_l1 = status["current_l1"]
            self.log.info("Proposing output root", output=output["outputRoot"], block=next_block)
            data = propose_calldata(
                output["outputRoot"], next_block, current_l1["hash"], int(current_l1["number"])
            )
            sent = await self.sender.send(l1, c.proposer_l2oo_address, data)
        except RpcError as exc:
            return self._failed("Failed to send proposal transaction", exc.rpc_message)
        except (RpcUnavailable, NotConfirmed) as exc:
            return self._failed("Failed to fetch output or send proposal", str(exc))
        if not sent.ok:
            return self._failed("Proposal transaction reverted", f"tx {sent.tx_hash} reverted")
        self.stats.proposals += 1
        self.stats.last_tx_hash = sent.tx_hash
        self.stats.last_l2_block = next_block
        self.stats.last_proposed_ref = output["blockRef"]
        self.log.info("Proposer tx successfully published", tx_hash=sent.tx_hash, l2_block=next_block)
        return True

    def _failed(self, msg: str, err: str) -> bool:
        self.stats.failures += 1
        self.stats.last_error = err
        self.log.error(msg, err=err)
        return False

    async def run(self) -> None:
        while True:
            await self.step()
            await asyncio.sleep(max(self.conditions.proposer_poll_interval_s, 0.05))
