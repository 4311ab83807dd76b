"""The bridge in the simulators: deposits derived from the portal's events onto an L2 that takes deposit
transactions, and a lagging L1 endpoint whose head stays where it stopped."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from jeju_lab.anvil import AnvilNode, rpc_call
from jeju_lab.chains import accounts
from jeju_lab.chains.deploy import L1_CHAIN_ID, L2_CHAIN_ID, deploy_l1
from jeju_lab.depositor import DEPOSIT_WEI, Depositor
from jeju_lab.sim import RpcProxy
from jeju_lab.sim.deposits import DepositFeed
from jeju_lab.sim.logfmt import ComponentLog
from jeju_lab.sim.rollup import BlockRef
from jeju_lab.sim.rpc import JsonRpcClient

from .helpers import LogBook

pytestmark = pytest.mark.lab


def test_a_stale_endpoint_keeps_its_head_while_the_chain_moves_on(l1: AnvilNode) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            proxy = RpcProxy(session, l1.url, "l1-primary")
            await proxy.start()
            try:
                client, chain = JsonRpcClient(session, proxy.url), JsonRpcClient(session, l1.url)
                frozen = int(await client.call("eth_blockNumber"), 16)
                proxy.stale_head = frozen
                while int(await chain.call("eth_blockNumber"), 16) < frozen + 3:
                    await asyncio.sleep(0.1)
                assert int(await client.call("eth_blockNumber"), 16) == frozen
                latest, later, chain_id = await client.batch([("eth_getBlockByNumber", ["latest", False]),
                                                             ("eth_getBlockByNumber", [hex(frozen + 2), False]),
                                                             ("eth_chainId", [])])
                assert int(latest["number"], 16) == frozen and later is None and chain_id == hex(L1_CHAIN_ID)
                assert await client.call("eth_getLogs", {"fromBlock": hex(frozen + 1)}) == []
                # state and receipts go through: a lagging provider still sends transactions
                assert await client.call("eth_getBalance", accounts.BATCHER.address, "latest") == \
                    await chain.call("eth_getBalance", accounts.BATCHER.address, "latest")
                proxy.stale_head = None
                assert int(await client.call("eth_blockNumber"), 16) >= frozen + 3
            finally:
                await proxy.stop()

    asyncio.run(scenario())


def test_the_feed_includes_each_deposit_once_in_l1_order_and_mints_on_l2() -> None:
    l1 = AnvilNode(chain_id=L1_CHAIN_ID, extra_args=["--silent"]).start()
    l2 = AnvilNode(chain_id=L2_CHAIN_ID, extra_args=["--no-mining", "--network", "optimism", "--silent"]).start()
    try:
        portal = deploy_l1(l1.url).optimism_portal
        for _ in range(3):
            Depositor().deposit_once(l1.url, portal)
        book = LogBook()
        bob_before = int(str(rpc_call(l2.url, "eth_getBalance", [accounts.USER_BOB.address, "latest"])), 16)

        async def scenario() -> list[int]:
            async with aiohttp.ClientSession() as session:
                l1_client, l2_client = JsonRpcClient(session, l1.url), JsonRpcClient(session, l2.url)
                feed = DepositFeed(portal, l2_client, ComponentLog("op-node", book))
                origin = BlockRef.from_block(await l1_client.call("eth_getBlockByNumber", "latest", False))
                sent = []
                for _ in range(4):  # one deposit of a sender per block: the backlog drains over three blocks
                    sent.append(await feed.include(l1_client, origin))
                    await l2_client.call("evm_mine")
                assert feed.queue == [] and feed.included == 3
                return sent

        assert asyncio.run(scenario()) == [1, 1, 1, 0]
        bob_after = int(str(rpc_call(l2.url, "eth_getBalance", [accounts.USER_BOB.address, "latest"])), 16)
        assert bob_after == bob_before + 3 * DEPOSIT_WEI
        assert book.has("op-node", "Included deposits")
    finally:
        l1.stop()
        l2.stop()
