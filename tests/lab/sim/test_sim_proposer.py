"""op-proposer proposes real outputs to the lab's L2OutputOracle once finalized_l2 reaches nextBlockNumber."""

from __future__ import annotations

import asyncio

import pytest
from web3 import Web3

from jeju_lab.anvil import AnvilNode
from jeju_lab.chains import accounts
from jeju_lab.chains.deploy import DeployConfig, deploy_l1
from jeju_lab.sim import Conditions

from .helpers import call, running_stack, wait_until

pytestmark = pytest.mark.lab


def deploy_oracle(l1: AnvilNode, interval: int) -> str:
    head = Web3(Web3.HTTPProvider(l1.url)).eth.get_block("latest")
    # Tests seal L2 blocks ten times faster than block_time: start the L2 clock an hour back so that
    # computeL2Timestamp(n) stays in the L1 past, as it does in the lab.
    deployment = deploy_l1(
        l1.url, DeployConfig(submission_interval=interval, starting_timestamp=head["timestamp"] - 3600)
    )
    return deployment.l2_output_oracle


def test_proposer_proposes_outputs_that_match_op_node(l1: AnvilNode, l2: AnvilNode) -> None:
    oracle_address = deploy_oracle(l1, interval=4)
    w3 = Web3(Web3.HTTPProvider(l1.url))
    oracle = w3.eth.contract(
        address=Web3.to_checksum_address(oracle_address),
        abi=[
            {
                "name": "latestBlockNumber",
                "type": "function",
                "stateMutability": "view",
                "inputs": [],
                "outputs": [{"type": "uint256"}],
            },
            {
                "name": "getL2Output",
                "type": "function",
                "stateMutability": "view",
                "inputs": [{"type": "uint256"}],
                "outputs": [
                    {
                        "type": "tuple",
                        "components": [
                            {"name": "outputRoot", "type": "bytes32"},
                            {"name": "timestamp", "type": "uint128"},
                            {"name": "l2BlockNumber", "type": "uint128"},
                        ],
                    }
                ],
            },
        ],
    )

    async def scenario() -> dict[str, object]:
        conditions = Conditions(proposer_l2oo_address=oracle_address, proposer_poll_interval_s=0.2)
        async with running_stack(l1, l2, conditions) as (stack, logs):

            async def proposed(n: int) -> bool:
                return stack.proposer.stats.proposals >= n

            await wait_until(lambda: proposed(2), timeout=30, what="two output proposals")
            assert logs.has("op-proposer", 'msg="Proposing output root"')
            expected = await call(stack.op_node.url, "optimism_outputAtBlock", hex(4))

            # A stalled batcher stalls the proposer silently: no finalized progress, no proposal, no error.
            stack.conditions.batcher_running = False
            await asyncio.sleep(1.0)
            count, errors = stack.proposer.stats.proposals, stack.proposer.stats.failures
            await asyncio.sleep(1.5)
            assert stack.proposer.stats.proposals <= count + 1  # at most one already finalized
            assert stack.proposer.stats.failures == errors

            # An unfunded proposer logs the node's error and proposes nothing.
            stack.conditions.batcher_running = True
            await call(l1.url, "anvil_setBalance", accounts.PROPOSER.address, "0x0")

            async def failed() -> bool:
                return logs.has("op-proposer", "insufficient funds")

            await wait_until(failed, timeout=30, what="an insufficient funds error from the proposer")
            return expected

    expected = asyncio.run(scenario())
    first = oracle.functions.getL2Output(0).call()
    assert first[2] == 4
    assert "0x" + bytes(first[0]).hex() == expected["outputRoot"]
    assert oracle.functions.latestBlockNumber().call() >= 8
