"""One real anvil ("Base", chain id 8453) per module with the lab contracts deployed once;
every test runs inside an evm_snapshot that is reverted afterwards."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from web3 import Web3

from jeju_lab.anvil import AnvilNode, rpc_call
from jeju_lab.chains.deploy import L1_CHAIN_ID, L1Deployment, deploy_l1

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def l1() -> Iterator[AnvilNode]:
    node = AnvilNode(chain_id=L1_CHAIN_ID).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def deployment(l1: AnvilNode) -> L1Deployment:
    started = time.monotonic()
    result = deploy_l1(l1.url)
    print(f"deploy_l1 took {time.monotonic() - started:.3f} s")
    return result


@pytest.fixture(scope="module")
def w3(l1: AnvilNode) -> Web3:
    return Web3(Web3.HTTPProvider(l1.url))


@pytest.fixture(autouse=True)
def fresh_state(request: pytest.FixtureRequest) -> Iterator[None]:
    if "deployment" not in request.fixturenames:
        yield
        return
    node: AnvilNode = request.getfixturevalue("l1")
    snapshot = rpc_call(node.url, "evm_snapshot")
    try:
        yield
    finally:
        rpc_call(node.url, "evm_revert", [snapshot])
