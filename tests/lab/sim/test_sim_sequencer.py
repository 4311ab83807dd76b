"""L2 blocks appear only while op-node is Ready, its L1 answers, the sequencer is active, no bad block."""

from __future__ import annotations

import asyncio

import pytest

from jeju_lab.anvil import AnvilNode
from jeju_lab.sim import ProxyMode
from jeju_lab.sim.rpc import RpcUnavailable

from .helpers import block_number, call, running_stack, wait_until

pytestmark = pytest.mark.lab


async def advances(url: str, past: int) -> bool:
    return await block_number(url) > past


async def stalls(url: str, ticks: int = 5) -> bool:
    """The head does not move over several sequencer ticks (0.1 s each in the tests)."""
    before = await block_number(url)
    await asyncio.sleep(ticks * 0.1 + 0.2)
    return await block_number(url) == before


def test_blocks_follow_op_node_readiness_and_l1_and_bad_block(l1: AnvilNode, l2: AnvilNode) -> None:
    async def scenario() -> None:
        async with running_stack(l1, l2) as (stack, logs):
            primary = await stack.add_proxy(l1.url, "l1-primary")
            stack.conditions.sequencer_l1_url = primary.url
            await wait_until(lambda: advances(l2.url, 2), what="the first L2 blocks")

            stack.conditions.op_node_ready = False
            await wait_until(lambda: stalls(l2.url), what="block production to stop")
            with pytest.raises(RpcUnavailable, match="connection refused"):
                await call(stack.op_node.url, "optimism_version")
            stack.conditions.op_node_ready = True
            head = await block_number(l2.url)
            await wait_until(lambda: advances(l2.url, head), what="blocks after op-node is Ready again")

            await primary.set_mode(ProxyMode.REFUSE)
            await wait_until(lambda: stalls(l2.url), what="a stall while the L1 RPC refuses")
            assert logs.has("op-node", 'msg="failed to fetch L1 block"')
            assert logs.has("op-node", "connection refused")
            stack.conditions.sequencer_l1_url = l1.url  # the runbook's fix: switch to the backup provider
            head = await block_number(l2.url)
            await wait_until(lambda: advances(l2.url, head), what="blocks after switching L1 RPC")

            stack.conditions.bad_block_at = await block_number(l2.url) + 2
            await wait_until(lambda: stalls(l2.url), what="a stall at the bad block")
            assert await block_number(l2.url) == stack.conditions.bad_block_at - 1
            assert logs.has("op-node", "invalid block")

    asyncio.run(scenario())


def test_transactions_sent_to_l2_are_included_in_sealed_blocks(l1: AnvilNode, l2: AnvilNode) -> None:
    async def scenario() -> None:
        async with running_stack(l1, l2):
            sender, receiver = (await call(l2.url, "eth_accounts"))[6:8]
            tx_hash = await call(
                l2.url, "eth_sendTransaction", {"from": sender, "to": receiver, "value": "0x64"}
            )

            async def mined() -> bool:
                return await call(l2.url, "eth_getTransactionReceipt", tx_hash) is not None

            await wait_until(mined, what="the L2 transaction's receipt")
            receipt = await call(l2.url, "eth_getTransactionReceipt", tx_hash)
            assert receipt["status"] == "0x1"

    asyncio.run(scenario())
