"""op_node against the lab's op-node RPC simulator over a real L2 anvil."""

from __future__ import annotations

import asyncio
import threading

import aiohttp
import pytest

from jeju_play.lab.anvil import rpc_call
from jeju_play.lab.sim.conditions import Conditions
from jeju_play.lab.sim.logfmt import ComponentLog, discard
from jeju_play.lab.sim.op_node import OpNode
from jeju_play.lab.sim.rollup import RollupConfig, RollupState, Timing
from jeju_play.lab.sim.sequencer import Sequencer


@pytest.fixture
def op_node_url(fresh_anvil):
    """The op-node RPC simulator in a background event loop (the sequencer loop itself is not run)."""
    loop = asyncio.new_event_loop()
    started, holder = threading.Event(), {}

    async def serve() -> None:
        session = aiohttp.ClientSession()
        conditions, state = Conditions(), RollupState()
        config = RollupConfig(l1_chain_id=8453, l2_chain_id=901, batch_inbox_address="0x" + "ff" * 20,
                              batcher_address="0x" + "ba" * 20)
        log = ComponentLog("op-node", discard)
        sequencer = Sequencer(session, conditions, timing=Timing(), state=state, l2_url=fresh_anvil.url, log=log)
        node = OpNode(session, conditions, config=config, state=state, sequencer=sequencer,
                      l2_url=fresh_anvil.url, log=log)
        await node.start()
        holder.update(url=node.url, stop=asyncio.Event())
        started.set()
        await holder["stop"].wait()
        await node.server.stop()
        await session.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10), "the op-node simulator did not start"
    try:
        yield holder["url"]
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(10)
        loop.close()


def test_sync_status_and_output_at_block(fresh_anvil, op_node_url, run_module):
    for _ in range(3):
        rpc_call(fresh_anvil.url, "evm_mine", [])
    status = run_module("op_node", rpc_url=op_node_url, action="sync_status")
    assert status["unsafe_l2_number"] == 3
    assert status["unsafe_head_hash"] == rpc_call(fresh_anvil.url, "eth_getBlockByNumber", ["latest", False])["hash"]
    output = run_module("op_node", rpc_url=op_node_url, action="output_at_block", block_number=2)
    assert output["output_root"].startswith("0x") and len(output["output_root"]) == 66


def test_stop_and_start_the_sequencer(fresh_anvil, op_node_url, run_module):
    head = rpc_call(fresh_anvil.url, "eth_getBlockByNumber", ["latest", False])["hash"]
    planned = run_module("op_node", check=True, rpc_url=op_node_url, action="stop_sequencer")
    assert planned["changed"] is True and "would stop" in planned["msg"]
    assert run_module("op_node", rpc_url=op_node_url, action="sequencer_active")["active"] is True
    stopped = run_module("op_node", rpc_url=op_node_url, action="stop_sequencer")
    assert stopped["changed"] is True and stopped["unsafe_head_hash"] == head and stopped["active"] is False
    again = run_module("op_node", rpc_url=op_node_url, action="stop_sequencer")
    assert again["changed"] is False
    wrong = run_module("op_node", rpc_url=op_node_url, action="start_sequencer", unsafe_head_hash="0x" + "00" * 32)
    assert wrong["failed"] and "block hash does not match" in wrong["msg"] and "stop_sequencer returned" in wrong["msg"]
    started = run_module("op_node", rpc_url=op_node_url, action="start_sequencer")
    assert started["changed"] is True and started["start_hash"] == head and started["active"] is True
    assert run_module("op_node", rpc_url=op_node_url, action="start_sequencer")["changed"] is False
