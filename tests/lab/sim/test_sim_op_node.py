"""op-node's RPC as a client sees it: sync status fields, output roots, sequencer admin rules, errors."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from web3 import Web3

from jeju_lab.anvil import AnvilNode
from jeju_lab.sim import Conditions
from jeju_lab.sim.rpc import RpcError

from .helpers import INBOX, block_number, call, running_stack, sync_status, wait_until

pytestmark = pytest.mark.lab

L1_REF_KEYS = {"hash", "number", "parentHash", "timestamp"}
L2_REF_KEYS = L1_REF_KEYS | {"l1origin", "sequenceNumber"}


async def post(url: str, body: object) -> object:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        assert response.status == 200
        return await response.json()


def test_sync_status_has_the_op_node_fields(l1: AnvilNode, l2: AnvilNode) -> None:
    async def scenario() -> None:
        async with running_stack(l1, l2) as (stack, _):

            async def safe_moved() -> bool:
                return (await sync_status(stack))["finalized_l2"]["number"] > 0

            await wait_until(safe_moved, what="a finalized L2 head")
            status = await sync_status(stack)
            for key in ("current_l1", "head_l1", "safe_l1", "finalized_l1"):
                assert set(status[key]) >= L1_REF_KEYS, key
                assert isinstance(status[key]["number"], int)
            for key in (
                "unsafe_l2",
                "safe_l2",
                "finalized_l2",
                "pending_safe_l2",
                "cross_unsafe_l2",
                "local_safe_l2",
            ):
                assert set(status[key]) >= L2_REF_KEYS, key
                assert set(status[key]["l1origin"]) == {"hash", "number"}
            assert (
                status["unsafe_l2"]["number"]
                >= status["safe_l2"]["number"]
                >= status["finalized_l2"]["number"]
            )
            assert (
                status["head_l1"]["number"] >= status["safe_l1"]["number"] >= status["finalized_l1"]["number"]
            )
            unsafe = status["unsafe_l2"]
            block = await call(l2.url, "eth_getBlockByNumber", hex(unsafe["number"]), False)
            assert block["hash"] == unsafe["hash"]
            origin = await call(l1.url, "eth_getBlockByNumber", hex(unsafe["l1origin"]["number"]), False)
            assert origin["hash"] == unsafe["l1origin"]["hash"]

            config = await call(stack.op_node.url, "optimism_rollupConfig")
            assert config["batch_inbox_address"] == INBOX
            assert (config["l1_chain_id"], config["block_time"]) == (8453, 1)
            assert (await call(stack.op_node.url, "optimism_version")).startswith("v")

    asyncio.run(scenario())


def test_output_at_block_matches_a_recomputation_through_web3(l1: AnvilNode, l2: AnvilNode) -> None:
    async def scenario() -> dict[str, object]:
        async with running_stack(l1, l2) as (stack, _):
            await wait_until(lambda: _past(l2.url, 3), what="L2 block 3")
            return await call(stack.op_node.url, "optimism_outputAtBlock", "0x3")

    output = asyncio.run(scenario())
    w3 = Web3(Web3.HTTPProvider(l2.url))
    block = w3.eth.get_block(3)
    proof = w3.eth.get_proof("0x4200000000000000000000000000000000000016", [], 3)
    expected = Web3.keccak(
        b"\x00" * 32 + bytes(block["stateRoot"]) + bytes(proof["storageHash"]) + bytes(block["hash"])
    )
    assert output["outputRoot"] == "0x" + expected.hex().removeprefix("0x")
    assert output["version"] == "0x" + "00" * 32
    assert output["stateRoot"] == "0x" + bytes(block["stateRoot"]).hex()
    assert output["withdrawalStorageRoot"] == "0x" + bytes(proof["storageHash"]).hex()
    assert output["blockRef"]["number"] == 3 and "syncStatus" in output


async def _past(url: str, number: int) -> bool:
    return await block_number(url) >= number


def test_stop_and_start_sequencer_follow_op_node_rules(l1: AnvilNode, l2: AnvilNode) -> None:
    async def scenario() -> None:
        async with running_stack(l1, l2) as (stack, _):
            url = stack.op_node.url
            await wait_until(lambda: _past(l2.url, 2), what="L2 block 2")
            assert await call(url, "admin_sequencerActive") is True
            stopped_at = await call(url, "admin_stopSequencer")
            head = await call(l2.url, "eth_getBlockByNumber", "latest", False)
            assert stopped_at == head["hash"]
            assert await call(url, "admin_sequencerActive") is False
            with pytest.raises(RpcError, match="sequencer not running"):
                await call(url, "admin_stopSequencer")
            wrong = "0x" + "11" * 32
            with pytest.raises(RpcError, match="block hash does not match"):
                await call(url, "admin_startSequencer", wrong)
            await asyncio.sleep(0.5)
            assert (await call(l2.url, "eth_getBlockByNumber", "latest", False))["hash"] == stopped_at
            assert await call(url, "admin_startSequencer", stopped_at) is None
            with pytest.raises(RpcError, match="sequencer already running"):
                await call(url, "admin_startSequencer", stopped_at)
            await wait_until(lambda: _past(l2.url, int(head["number"], 16) + 1), what="blocks after restart")

    asyncio.run(scenario())


def test_json_rpc_errors_and_batches_look_like_geth(l1: AnvilNode, l2: AnvilNode) -> None:
    async def scenario() -> None:
        conditions = Conditions(admin_rpc_enabled=False)
        async with running_stack(l1, l2, conditions) as (stack, _):
            url = stack.op_node.url
            replies = await post(
                url,
                [
                    {"jsonrpc": "2.0", "id": 1, "method": "optimism_version", "params": []},
                    {"jsonrpc": "2.0", "id": 2, "method": "admin_stopSequencer", "params": []},
                    {"jsonrpc": "2.0", "id": 3, "method": "optimism_outputAtBlock", "params": ["0xffffff"]},
                    {"jsonrpc": "2.0", "id": 4, "method": "optimism_outputAtBlock", "params": []},
                ],
            )
            assert isinstance(replies, list) and [r["id"] for r in replies] == [1, 2, 3, 4]
            assert replies[0]["result"].startswith("v")
            assert replies[1]["error"] == {
                "code": -32601,
                "message": "the method admin_stopSequencer does not exist/is not available",
            }
            assert replies[2]["error"]["code"] == -32000
            assert "not found" in replies[2]["error"]["message"]
            assert replies[3]["error"] == {"code": -32602, "message": "missing value for required argument 0"}
            assert await post(url, []) == {
                "jsonrpc": "2.0",
                "id": None,
                "error": {"code": -32600, "message": "empty batch"},
            }

    asyncio.run(scenario())
