"""op-node's derivation, reduced to what the runbook sees: read L1, find batches from the batcher to the
inbox, and move the safe and finalized heads. No batch on L1, no safe head progress."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from jeju_lab.sim.conditions import Conditions
from jeju_lab.sim.frames import decode_batch_tx
from jeju_lab.sim.logfmt import ComponentLog
from jeju_lab.sim.rollup import BlockRef, LandedBatch, RollupConfig, RollupState, Timing
from jeju_lab.sim.rpc import JsonRpcClient, RpcError, RpcUnavailable, hex_int


class Deriver:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        conditions: Conditions,
        *,
        config: RollupConfig,
        timing: Timing,
        state: RollupState,
        l2_url: str,
        log: ComponentLog,
    ) -> None:
        self.session = session
        self.conditions = conditions
        self.config = config
        self.timing = timing
        self.state = state
        self.l2 = JsonRpcClient(session, l2_url)
        self.log = log

    def l1(self) -> JsonRpcClient:
        return JsonRpcClient(self.session, self.conditions.sequencer_l1_url)

    async def step(self) -> None:
        """Read the L1 blocks not yet read (up to a cap) and record the batches they hold."""
        if not self.conditions.op_node_ready:
            return
        try:
            await self._step()
        except (RpcUnavailable, RpcError) as exc:
            self.state.record_derivation_error()
            self.log.warn(
                "Derivation process temporary error",
                attempts=1,
                err=f"engine stage failed: temp: failed to fetch L1 block: {exc}",
            )

    async def _step(self) -> None:
        l1 = self.l1()
        head = BlockRef.from_block(await l1.call("eth_getBlockByNumber", "latest", False))
        state = self.state
        if state.genesis_l1 is None:
            state.genesis_l1 = head
        start = state.current_l1.number + 1 if state.current_l1 else state.genesis_l1.number
        end = min(head.number, start + self.timing.max_l1_blocks_per_scan - 1)
        safe_n = max(head.number - self.timing.l1_safe_depth, state.genesis_l1.number)
        final_n = max(head.number - self.timing.l1_finality_depth, state.genesis_l1.number)
        calls: list[tuple[str, list[object]]] = [
            ("eth_getBlockByNumber", [hex(n), True]) for n in range(start, end + 1)
        ]
        calls += [
            ("eth_getBlockByNumber", [hex(safe_n), False]),
            ("eth_getBlockByNumber", [hex(final_n), False]),
        ]
        results = await l1.batch(calls)
        blocks, safe_block, final_block = results[:-2], results[-2], results[-1]
        for block in blocks:
            await self._read_batches(l1, block)
            previous = state.current_l1
            state.current_l1 = BlockRef.from_block(block)
            if previous is None or previous.number // 16 != state.current_l1.number // 16:
                self.log.info(
                    "Advancing bq origin", origin=f"{state.current_l1.hash}:{state.current_l1.number}"
                )
        state.head_l1 = head
        state.safe_l1 = BlockRef.from_block(safe_block)
        state.finalized_l1 = BlockRef.from_block(final_block)

    async def _read_batches(self, l1: JsonRpcClient, block: dict[str, Any]) -> None:
        inbox, batcher = self.config.batch_inbox_address.lower(), self.config.batcher_address.lower()
        candidates = [
            tx
            for tx in block["transactions"]
            if (tx.get("to") or "").lower() == inbox and tx["from"].lower() == batcher
        ]
        if not candidates:
            return
        receipts = await l1.batch([("eth_getTransactionReceipt", [tx["hash"]]) for tx in candidates])
        for tx, receipt in zip(candidates, receipts, strict=True):
            batch = decode_batch_tx(bytes.fromhex(tx["input"].removeprefix("0x")))
            if batch is None or receipt is None or hex_int(receipt["status"]) != 1:
                self.log.warn("Dropping invalid batch", tx=tx["hash"])
                continue
            l2_block = await self.l2.call("eth_getBlockByNumber", hex(batch.last_l2), False)
            if l2_block is None or l2_block["hash"] != "0x" + batch.last_l2_hash.hex():
                self.log.warn(
                    "Dropping batch that does not match the L2 chain", tx=tx["hash"], block=batch.last_l2
                )
                continue
            if self.conditions.bad_block_at is not None and batch.last_l2 >= self.conditions.bad_block_at:
                self.state.record_derivation_error()
                self.log.error(
                    "Derivation process critical error",
                    err=f"failed to process block {self.conditions.bad_block_at}: invalid block",
                )
                continue
            self.state.batches.append(
                LandedBatch(batch.last_l2, hex_int(block["number"]), block["hash"], tx["hash"])
            )
            self.log.info(
                "Derived safe head from batch", safe=batch.last_l2, l1_block=hex_int(block["number"])
            )

    async def run(self) -> None:
        while True:
            await self.step()
            await asyncio.sleep(self.timing.derivation_interval_s)
