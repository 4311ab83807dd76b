"""RPC proxies in front of anvil: healthy, refusing, 502, slow, and reth's load model."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from jeju_lab.anvil import AnvilNode
from jeju_lab.sim import ProxyMode, RethLoad, RpcProxy
from jeju_lab.sim.rpc import JsonRpcClient, RpcUnavailable

pytestmark = pytest.mark.lab


def test_proxy_forwards_refuses_fails_and_slows_down(l1: AnvilNode) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            proxy = RpcProxy(session, l1.url, "l1-primary")
            await proxy.start()
            try:
                client = JsonRpcClient(session, proxy.url)
                assert await client.call("eth_chainId") == hex(8453)
                batch = await client.batch([("eth_chainId", []), ("eth_blockNumber", [])])
                assert batch[0] == hex(8453)

                await proxy.set_mode(ProxyMode.REFUSE)
                with pytest.raises(RpcUnavailable, match="connection refused"):
                    await client.call("eth_chainId")
                await proxy.set_mode(ProxyMode.BAD_GATEWAY)
                with pytest.raises(RpcUnavailable, match="HTTP 502"):
                    await client.call("eth_chainId")
                await proxy.set_mode(ProxyMode.HEALTHY)
                assert await client.call("eth_chainId") == hex(8453)

                load = RethLoad(base_ms=10, load=600, replicas=1)
                proxy.latency_model = load.latency_ms
                started = time.monotonic()
                await client.call("eth_blockNumber")
                assert time.monotonic() - started >= 0.6  # a lower bound: the added latency is real
                load.replicas = 3
                assert proxy.latency_ms() == 210
                load.replicas = 0
                with pytest.raises(RpcUnavailable, match="HTTP 503"):
                    await client.call("eth_blockNumber")
            finally:
                await proxy.stop()

    asyncio.run(scenario())
