"""op_node against the lab's op-node RPC simulator over a real L2 anvil (fixture op_node_url in conftest)."""

from __future__ import annotations

from jeju_lab.anvil import rpc_call


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
