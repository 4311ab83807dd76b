"""op-batcher sends real batch transactions to the inbox on L1; the safe head moves only with them."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from jeju_lab.anvil import AnvilNode
from jeju_lab.chains import accounts
from jeju_lab.sim import Conditions

from .helpers import INBOX, call, running_stack, sync_status, wait_until

pytestmark = pytest.mark.lab
BATCHER = accounts.BATCHER.address


async def nonce(l1: AnvilNode) -> int:
    return int(await call(l1.url, "eth_getTransactionCount", BATCHER, "latest"), 16)


async def batch_txs(l1: AnvilNode) -> list[dict[str, object]]:
    """Every transaction from the batcher to the inbox on L1, read from the chain."""
    head = int(await call(l1.url, "eth_blockNumber"), 16)
    found = []
    for number in range(head + 1):
        block = await call(l1.url, "eth_getBlockByNumber", hex(number), True)
        found += [
            tx
            for tx in block["transactions"]
            if tx["from"].lower() == BATCHER.lower() and (tx["to"] or "").lower() == INBOX.lower()
        ]
    return found


def test_batches_land_on_l1_and_move_the_safe_head(l1: AnvilNode, l2: AnvilNode) -> None:
    async def scenario() -> None:
        async with running_stack(l1, l2) as (stack, logs):

            async def safe_at_least(n: int) -> bool:
                return (await sync_status(stack))["safe_l2"]["number"] >= n

            await wait_until(lambda: safe_at_least(3), what="the safe head to pass block 3")
            txs = await batch_txs(l1)
            assert txs and all(str(tx["input"]).startswith("0x00") for tx in txs)
            receipt = await call(l1.url, "eth_getTransactionReceipt", txs[0]["hash"])
            assert receipt["status"] == "0x1" and int(receipt["gasUsed"], 16) > 21000  # paid for calldata
            assert logs.has("op-batcher", 'msg="Transaction confirmed"')

            stack.conditions.batcher_running = False  # kubectl scale op-batcher --replicas=0
            await asyncio.sleep(0.5)  # let a batch in flight land
            sent, safe = await nonce(l1), (await sync_status(stack))["safe_l2"]["number"]
            unsafe = (await sync_status(stack))["unsafe_l2"]["number"]
            await asyncio.sleep(1.0)
            status = await sync_status(stack)
            assert await nonce(l1) == sent
            assert status["safe_l2"]["number"] == safe
            assert status["unsafe_l2"]["number"] > unsafe  # blocks go on, unbatched

            stack.conditions.batcher_running = True
            await wait_until(
                lambda: safe_at_least(status["unsafe_l2"]["number"]), what="the safe head to catch up"
            )

    asyncio.run(scenario())


def test_batcher_stops_when_drained_and_when_the_fee_is_above_its_limit(l1: AnvilNode, l2: AnvilNode) -> None:
    async def scenario() -> None:
        async with running_stack(l1, l2) as (stack, logs):
            await wait_until(lambda: _nonce_above(l1, 0), what="a first batch")
            await call(l1.url, "anvil_setBalance", BATCHER, "0x0")
            await wait_until(lambda: _logged(logs, "insufficient funds"), what="an insufficient funds error")
            drained = await nonce(l1)
            await asyncio.sleep(0.8)
            assert await nonce(l1) == drained

            await call(l1.url, "anvil_setBalance", BATCHER, hex(10 * 10**18))  # the top-up
            await wait_until(lambda: _nonce_above(l1, drained), what="batches after the top-up")

            stack.conditions.batcher_fee_limit_gwei = 50
            await call(l1.url, "anvil_setNextBlockBaseFeePerGas", hex(2000 * 10**9))  # a gas spike
            await wait_until(lambda: _logged(logs, "fee too high"), what="the fee limit to stop the batcher")
            stack.conditions.batcher_fee_limit_gwei = 100_000  # the runbook's fix: raise the limit
            spiked = await nonce(l1)
            await wait_until(lambda: _nonce_above(l1, spiked), what="batches under the raised limit")

    asyncio.run(scenario())


async def _nonce_above(l1: AnvilNode, n: int) -> bool:
    return await nonce(l1) > n


async def _logged(logs: object, text: str) -> bool:
    return logs.has("op-batcher", text)  # type: ignore[attr-defined]


def test_alt_da_posts_commitments_and_stops_when_eigenda_is_down(l1: AnvilNode, l2: AnvilNode) -> None:
    async def scenario() -> None:
        conditions = Conditions(batcher_altda_enabled=True)
        async with running_stack(l1, l2, conditions) as (stack, logs):
            await wait_until(lambda: _nonce_above(l1, 0), what="a first Alt-DA batch")
            assert all(str(tx["input"]).startswith("0x01010000") for tx in await batch_txs(l1))

            stack.conditions.eigenda_healthy = False
            async with aiohttp.ClientSession() as session, session.get(stack.eigenda.url + "/health") as r:
                assert r.status == 503
            await wait_until(lambda: _logged(logs, "Failed to post input to Alt DA"), what="a DA error")
            await asyncio.sleep(0.5)
            stuck = await nonce(l1)
            await asyncio.sleep(0.8)
            assert await nonce(l1) == stuck

            stack.conditions.batcher_altda_enabled = False  # runbook: useEigenDA: false -> calldata
            await wait_until(lambda: _nonce_above(l1, stuck), what="calldata batches")
            assert str((await batch_txs(l1))[-1]["input"]).startswith("0x00")
            stack.conditions.eigenda_healthy = True
            async with aiohttp.ClientSession() as session, session.get(stack.eigenda.url + "/health") as r:
                assert r.status == 200 and (await r.json())["status"] == "ok"

    asyncio.run(scenario())
