"""op-node's JSON-RPC server: optimism_* and admin_* over the simulated rollup state.

When the op-node pod is not Ready the server stops listening (connections are refused), as a Service
without a ready endpoint does. After a restart (not Ready -> Ready) the sequencer comes back in the state
its flags say (`--sequencer.stopped`), as a restarted op-node does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from jeju_lab.sim.conditions import Conditions
from jeju_lab.sim.logfmt import ComponentLog
from jeju_lab.sim.output import fetch_output
from jeju_lab.sim.rollup import RollupConfig, RollupState, l2_ref_json, rollup_config_json
from jeju_lab.sim.rpc import JsonRpcClient, RpcError, RpcUnavailable
from jeju_lab.sim.sequencer import Sequencer
from jeju_lab.sim.server import Handler, JsonRpcDispatcher, LoopbackServer, MethodError

OP_NODE_VERSION = "v1.13.2-jeju-lab"
OUTPUT_VERSION = "0x" + "00" * 32


class OpNode:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        conditions: Conditions,
        *,
        config: RollupConfig,
        state: RollupState,
        sequencer: Sequencer,
        l2_url: str,
        log: ComponentLog,
        port: int = 0,
    ) -> None:
        self.conditions = conditions
        self.config = config
        self.state = state
        self.sequencer = sequencer
        self.l2 = JsonRpcClient(session, l2_url)
        self.log = log
        self.rpc = JsonRpcDispatcher()
        self.rpc.hidden = lambda method: method.startswith("admin_") and not self.conditions.admin_rpc_enabled
        handlers: dict[str, Handler] = {
            "optimism_syncStatus": self.sync_status,
            "optimism_outputAtBlock": self.output_at_block,
            "optimism_rollupConfig": self.rollup_config,
            "optimism_version": self.version,
            "admin_sequencerActive": self.sequencer_active,
            "admin_stopSequencer": self.stop_sequencer,
            "admin_startSequencer": self.start_sequencer,
            "admin_resetDerivationPipeline": self.reset_derivation_pipeline,
        }
        for name, handler in handlers.items():
            self.rpc.add(name, handler)
        self.server = LoopbackServer(self.rpc.app(), port)

    @property
    def url(self) -> str:
        return self.server.url

    async def follow_readiness(self) -> None:
        """Open or close the RPC port to match the pod's readiness; reset admin state on a restart."""
        ready = self.conditions.op_node_ready
        if ready and not self.server.listening:
            self.sequencer.active = not self.conditions.sequencer_stopped_at_start
            self.log.info("Starting rollup node", version=OP_NODE_VERSION)
            self.log.info("Started JSON-RPC server", endpoint=self.url)
        elif not ready and self.server.listening:
            self.log.info("Stopping rollup node")
        await self.server.set_listening(ready)

    async def _l2_block(self, number: int) -> dict[str, Any]:
        block = await self.l2.call("eth_getBlockByNumber", hex(number), False)
        if block is None:
            raise MethodError("not found")
        return dict(block)

    async def sync_status(self) -> dict[str, Any]:
        try:
            unsafe = await self.l2.call("eth_getBlockByNumber", "latest", False)
            unsafe_n = int(unsafe["number"], 16)
            safe_n = self.state.safe_l2_number(unsafe_n)
            final_n = self.state.finalized_l2_number(safe_n)
            safe, final = await self.l2.batch(
                [
                    ("eth_getBlockByNumber", [hex(safe_n), False]),
                    ("eth_getBlockByNumber", [hex(final_n), False]),
                ]
            )
        except (RpcUnavailable, RpcError) as exc:
            raise MethodError(f"failed to get L2 block: {exc}") from exc
        s = self.state
        empty = {"hash": "0x" + "00" * 32, "number": 0, "parentHash": "0x" + "00" * 32, "timestamp": 0}

        def l1(ref: Any) -> dict[str, Any]:
            return ref.to_json() if ref else dict(empty)

        unsafe_ref = l2_ref_json(unsafe, s.origin_of(unsafe_n))
        safe_ref = l2_ref_json(safe, s.origin_of(safe_n))
        return {
            "current_l1": l1(s.current_l1),
            "current_l1_finalized": l1(s.finalized_l1),
            "head_l1": l1(s.head_l1),
            "safe_l1": l1(s.safe_l1),
            "finalized_l1": l1(s.finalized_l1),
            "unsafe_l2": unsafe_ref,
            "safe_l2": safe_ref,
            "finalized_l2": l2_ref_json(final, s.origin_of(final_n)),
            "pending_safe_l2": safe_ref,
            "cross_unsafe_l2": unsafe_ref,
            "local_safe_l2": safe_ref,
        }

    async def output_at_block(self, number: str) -> dict[str, Any]:
        try:
            block_number = int(number, 16)
        except (TypeError, ValueError) as exc:
            raise MethodError(f"invalid argument 0: hex string without 0x prefix: {number}", -32602) from exc
        try:
            output = await fetch_output(self.l2, block_number)
        except RpcError as exc:
            raise MethodError(f"failed to get L2 block ref with sync status: {exc.rpc_message}") from exc
        except RpcUnavailable as exc:
            raise MethodError(f"failed to get L2 block ref with sync status: {exc}") from exc
        if output is None:
            raise MethodError("failed to get L2 block ref with sync status: not found")
        return {
            "version": OUTPUT_VERSION,
            "outputRoot": output.output_root,
            "blockRef": l2_ref_json(output.block, self.state.origin_of(block_number)),
            "withdrawalStorageRoot": output.withdrawal_storage_root,
            "stateRoot": output.state_root,
            "syncStatus": await self.sync_status(),
        }

    async def rollup_config(self) -> dict[str, Any]:
        return rollup_config_json(self.config, self.state.genesis_l1, await self._l2_block(0))

    async def version(self) -> str:
        return OP_NODE_VERSION

    async def sequencer_active(self) -> bool:
        return self.sequencer.active

    async def _unsafe_head_hash(self) -> str:
        block = await self.l2.call("eth_getBlockByNumber", "latest", False)
        return str(block["hash"])

    async def stop_sequencer(self) -> str:
        async with self.sequencer.lock:
            if not self.sequencer.active:
                raise MethodError("sequencer not running")
            self.sequencer.active = False
            head = await self._unsafe_head_hash()
        self.log.info("Sequencer has been stopped", hash=head)
        return head

    async def start_sequencer(self, block_hash: str) -> None:
        async with self.sequencer.lock:
            if self.sequencer.active:
                raise MethodError("sequencer already running")
            head = await self._unsafe_head_hash()
            if str(block_hash).lower() != head.lower():
                raise MethodError(f"block hash does not match: head {head}, received {block_hash}")
            self.sequencer.active = True
        self.log.info("Sequencer has been started", hash=head)

    async def reset_derivation_pipeline(self) -> None:
        """Forget what derivation read; it reads L1 again from the rollup's genesis."""
        self.state.current_l1 = None
        self.state.batches.clear()
        self.log.info("Resetting derivation pipeline")

    async def start(self) -> None:
        await self.server.start(listening=False)
        await self.follow_readiness()

    async def run(self, poll_s: float = 0.2) -> None:
        """Follow the pod's readiness; the server itself is served by aiohttp."""
        while True:
            await self.follow_readiness()
            await asyncio.sleep(poll_s)
