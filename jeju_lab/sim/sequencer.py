"""The sequencer: seals one L2 block per tick on the L2 anvil (which runs with mining off) while op-node
is Ready, its L1 RPC answers, the sequencer is active and no bad block stops it."""

from __future__ import annotations

import asyncio

import aiohttp

from jeju_lab.sim.conditions import Conditions
from jeju_lab.sim.deposits import DepositFeed
from jeju_lab.sim.logfmt import ComponentLog
from jeju_lab.sim.rollup import BlockRef, RollupState, Timing
from jeju_lab.sim.rpc import JsonRpcClient, RpcError, RpcUnavailable, hex_int


class Sequencer:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        conditions: Conditions,
        *,
        timing: Timing,
        state: RollupState,
        l2_url: str,
        log: ComponentLog,
        active: bool = True,
        deposits: DepositFeed | None = None,
    ) -> None:
        self.session = session
        self.conditions = conditions
        self.timing = timing
        self.state = state
        self.l2 = JsonRpcClient(session, l2_url)
        self.log = log
        self.active = active  # admin_startSequencer / admin_stopSequencer
        self.lock = asyncio.Lock()  # admin calls wait for a block being sealed
        self.deposits = deposits  # the deposits of each new L1 origin go into the block sealed on it

    async def step(self) -> bool:
        """Seal one block if everything allows it. Returns whether a block was sealed."""
        async with self.lock:
            return await self._step()

    async def _step(self) -> bool:
        c = self.conditions
        if not (c.sequencer_may_run() and self.active):
            return False
        try:
            head_number = hex_int(await self.l2.call("eth_blockNumber"))
            if c.bad_block_at is not None and head_number + 1 >= c.bad_block_at:
                self.state.record_derivation_error()
                self.log.error(
                    "Derivation process critical error",
                    err=f"failed to process block {c.bad_block_at}: invalid block: state root mismatch",
                )
                return False
            l1 = JsonRpcClient(self.session, c.sequencer_l1_url)
            try:
                l1_head = await l1.call("eth_getBlockByNumber", "latest", False)
            except (RpcUnavailable, RpcError) as exc:
                self.log.warn("failed to fetch L1 block", err=str(exc))
                return False
            if self.deposits is not None:
                await self.deposits.include(l1, BlockRef.from_block(l1_head))
            await self.l2.call("evm_mine")
            block = await self.l2.call("eth_getBlockByNumber", "latest", False)
        except (RpcUnavailable, RpcError) as exc:
            self.log.error("Sequencer failed to seal block", err=str(exc))
            return False
        origin = self.state.record_origin(hex_int(block["number"]), BlockRef.from_block(l1_head))
        self.log.info(
            "Sequencer sealed block",
            block=f"{block['hash']}:{hex_int(block['number'])}",
            parent=block["parentHash"],
            txs=len(block["transactions"]),
            l1Origin=f"{origin.l1.hash}:{origin.l1.number}",
        )
        return True

    async def run(self) -> None:
        while True:
            await self.step()
            await asyncio.sleep(self.timing.l2_block_interval_s)
