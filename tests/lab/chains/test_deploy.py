from __future__ import annotations

import json

from web3 import Web3

from jeju_lab.anvil import AnvilNode
from jeju_lab.chains import accounts
from jeju_lab.chains.deploy import (
    L1_BLOCK_TIME,
    L1_CHAIN_ID,
    L2_CHAIN_ID,
    L1Deployment,
    batch_inbox_address,
    deploy_l1,
)
from jeju_lab.chains.safe_tools import safe_contract

from .helpers import lab_contract

ETHER = 10**18


def test_every_contract_has_code(w3: Web3, deployment: L1Deployment) -> None:
    for name in (
        "l2_output_oracle",
        "superchain_config",
        "optimism_portal",
        "guardian_safe",
        "safe_singleton",
        "safe_proxy_factory",
    ):
        assert len(w3.eth.get_code(getattr(deployment, name))) > 0, name
    assert w3.eth.get_code(deployment.batch_inbox) == b""


def test_chain_ids_and_batch_inbox(w3: Web3, deployment: L1Deployment) -> None:
    assert deployment.l1_chain_id == w3.eth.chain_id == 8453
    assert deployment.l2_chain_id == L2_CHAIN_ID == 420690
    assert deployment.batch_inbox == "0xff00000000000000000000000000000000420690"
    assert batch_inbox_address(8453) == "0xFf00000000000000000000000000000000008453"


def test_guardian_is_a_real_2_of_3_safe(w3: Web3, deployment: L1Deployment) -> None:
    safe = safe_contract(w3, deployment.guardian_safe)
    assert safe.functions.VERSION().call() == "1.4.1"
    assert safe.functions.getThreshold().call() == 2
    owners = {owner.address for owner in accounts.GUARDIAN_OWNERS}
    assert set(safe.functions.getOwners().call()) == owners == set(deployment.guardian_owners)
    assert safe.functions.nonce().call() == 0
    config = lab_contract(w3, "SuperchainConfig", deployment.superchain_config)
    assert config.functions.guardian().call() == deployment.guardian_safe
    assert config.functions.version().call() == "1.1.0"
    assert config.functions.paused().call() is False


def test_oracle_and_portal_are_wired(w3: Web3, deployment: L1Deployment) -> None:
    oracle = lab_contract(w3, "L2OutputOracle", deployment.l2_output_oracle)
    assert oracle.functions.PROPOSER().call() == accounts.PROPOSER.address == deployment.proposer
    assert oracle.functions.CHALLENGER().call() == accounts.CHALLENGER.address
    assert oracle.functions.SUBMISSION_INTERVAL().call() == deployment.submission_interval == 10
    assert oracle.functions.L2_BLOCK_TIME().call() == 1
    assert oracle.functions.nextBlockNumber().call() == 10
    assert oracle.functions.startingTimestamp().call() == deployment.starting_timestamp
    portal = lab_contract(w3, "OptimismPortal", deployment.optimism_portal)
    assert portal.functions.superchainConfig().call() == deployment.superchain_config
    assert portal.functions.l2Oracle().call() == deployment.l2_output_oracle
    assert portal.functions.paused().call() is False
    assert w3.eth.get_balance(deployment.optimism_portal) == deployment.portal_tvl_wei == 1000 * ETHER


def test_every_lab_account_is_funded(w3: Web3, deployment: L1Deployment) -> None:
    for account in accounts.ALL_ACCOUNTS:
        assert w3.eth.get_balance(account.address) >= 100 * ETHER, account.name


def test_to_dict_is_json_ready(deployment: L1Deployment) -> None:
    data = json.loads(json.dumps(deployment.to_dict()))
    assert data["guardian_safe"] == deployment.guardian_safe
    assert data["guardian_owners"] == list(deployment.guardian_owners)
    assert data["l1_block_time"] == 2 and data["l2_block_time"] == 1
    assert Web3.is_checksum_address(data["optimism_portal"])


def test_deploy_with_two_second_blocks_like_base() -> None:
    node = AnvilNode(chain_id=L1_CHAIN_ID, block_time=L1_BLOCK_TIME).start()
    try:
        deployment = deploy_l1(node.url)
        w3 = Web3(Web3.HTTPProvider(node.url))
        assert len(w3.eth.get_code(deployment.guardian_safe)) > 0
        assert w3.eth.get_balance(deployment.optimism_portal) == deployment.portal_tvl_wei
    finally:
        node.stop()
