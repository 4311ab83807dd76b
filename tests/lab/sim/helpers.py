"""Shared pieces of the simulator tests: real anvil chains, a fast SimStack, and waiting on chain state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from jeju_lab.anvil import AnvilNode
from jeju_lab.chains import accounts
from jeju_lab.chains.deploy import L1_CHAIN_ID, L2_CHAIN_ID, batch_inbox_address
from jeju_lab.sim import Conditions, RollupConfig, SimStack, Timing
from jeju_lab.sim.rpc import JsonRpcClient

FAST = Timing(
    l2_block_interval_s=0.1,
    derivation_interval_s=0.1,
    batch_interval_s=0.3,
    l1_safe_depth=1,
    l1_finality_depth=2,
    receipt_timeout_s=5.0,
)
INBOX = batch_inbox_address(L2_CHAIN_ID)


def start_l1() -> AnvilNode:
    return AnvilNode(chain_id=L1_CHAIN_ID, block_time=0.2, extra_args=["--silent"]).start()


def start_l2() -> AnvilNode:
    return AnvilNode(chain_id=L2_CHAIN_ID, extra_args=["--no-mining", "--silent"]).start()


def rollup_config() -> RollupConfig:
    return RollupConfig(
        l1_chain_id=L1_CHAIN_ID,
        l2_chain_id=L2_CHAIN_ID,
        batch_inbox_address=INBOX,
        batcher_address=accounts.BATCHER.address,
    )


@dataclass
class LogBook:
    """Collects log(component, line) calls, as the Kubernetes double would."""

    lines: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, component: str, line: str) -> None:
        self.lines.append((component, line))

    def of(self, component: str) -> list[str]:
        return [line for name, line in self.lines if name == component]

    def has(self, component: str, text: str) -> bool:
        """Case-insensitive, like `kubectl logs | grep -i`."""
        return any(text.lower() in line.lower() for line in self.of(component))


@asynccontextmanager
async def running_stack(
    l1: AnvilNode, l2: AnvilNode, conditions: Conditions | None = None, timing: Timing = FAST
) -> AsyncIterator[tuple[SimStack, LogBook]]:
    conditions = conditions or Conditions()
    conditions.sequencer_l1_url = conditions.sequencer_l1_url or l1.url
    conditions.batcher_l1_url = conditions.batcher_l1_url or l1.url
    conditions.proposer_l1_url = conditions.proposer_l1_url or l1.url
    logs = LogBook()
    stack = SimStack(
        conditions,
        rollup_config(),
        l2_url=l2.url,
        batcher_key=accounts.BATCHER.private_key(),
        proposer_key=accounts.PROPOSER.private_key(),
        timing=timing,
        log=logs,
    )
    async with stack:
        yield stack, logs


async def wait_until(predicate: Callable[[], Awaitable[bool]], timeout: float = 15.0, what: str = "") -> None:
    """Poll a predicate on chain state until it holds; fail with `what` after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


async def call(url: str, method: str, *params: object) -> Any:
    async with aiohttp.ClientSession() as session:
        return await JsonRpcClient(session, url).call(method, *params)


async def block_number(url: str) -> int:
    return int(await call(url, "eth_blockNumber"), 16)


async def sync_status(stack: SimStack) -> dict[str, Any]:
    result: dict[str, Any] = await call(stack.op_node.url, "optimism_syncStatus")
    return result
