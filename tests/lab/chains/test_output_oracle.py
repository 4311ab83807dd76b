from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3
from web3.logs import DISCARD

from jeju_lab.anvil import AnvilNode, rpc_call
from jeju_lab.chains import accounts
from jeju_lab.chains.artifacts import lab_artifact
from jeju_lab.chains.deploy import L1Deployment
from jeju_lab.chains.transactions import TxBatch
from jeju_play.errors import LabError

from .helpers import lab_contract, revert_reason, transact

ROOT_A = b"\xaa" * 32
ROOT_B = b"\xbb" * 32
NO_L1_HASH = b"\x00" * 32


@pytest.fixture
def oracle(w3: Web3, deployment: L1Deployment, l1: AnvilNode) -> Any:
    rpc_call(l1.url, "evm_increaseTime", [60])  # L2 blocks 10..50 are in the past
    rpc_call(l1.url, "evm_mine")
    return lab_contract(w3, "L2OutputOracle", deployment.l2_output_oracle)


def test_latest_output_index_reverts_while_empty(oracle: Any) -> None:
    revert_reason(oracle.functions.latestOutputIndex(), accounts.USER_ALICE)
    assert oracle.functions.latestBlockNumber().call() == 0
    assert oracle.functions.nextOutputIndex().call() == 0


def test_proposer_proposes_and_the_event_says_so(w3: Web3, oracle: Any) -> None:
    head = w3.eth.get_block("latest")
    propose = oracle.functions.proposeL2Output(ROOT_A, 10, head["hash"], head["number"])
    receipt = transact(w3, accounts.PROPOSER, propose)
    (event,) = oracle.events.OutputProposed().process_receipt(receipt, errors=DISCARD)
    assert event.args.outputRoot == ROOT_A
    assert event.args.l2OutputIndex == 0
    assert event.args.l2BlockNumber == 10
    assert event.args.l1Timestamp == w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert oracle.functions.latestOutputIndex().call() == 0
    assert oracle.functions.getL2Output(0).call() == (ROOT_A, event.args.l1Timestamp, 10)
    assert oracle.functions.latestBlockNumber().call() == 10
    assert oracle.functions.nextBlockNumber().call() == 20


def test_only_the_proposer_may_propose(oracle: Any) -> None:
    call = oracle.functions.proposeL2Output(ROOT_A, 10, NO_L1_HASH, 0)
    for intruder in (accounts.ATTACKER, accounts.CHALLENGER, accounts.DEPLOYER):
        assert "only the proposer address can propose new outputs" in revert_reason(call, intruder)


def test_proposal_checks_block_number_root_and_l1_hash(w3: Web3, oracle: Any) -> None:
    wrong_block = oracle.functions.proposeL2Output(ROOT_A, 11, NO_L1_HASH, 0)
    assert "must be equal to next expected block number" in revert_reason(wrong_block, accounts.PROPOSER)
    zero_root = oracle.functions.proposeL2Output(b"\x00" * 32, 10, NO_L1_HASH, 0)
    assert "cannot be the zero hash" in revert_reason(zero_root, accounts.PROPOSER)
    wrong_hash = oracle.functions.proposeL2Output(ROOT_A, 10, b"\x01" * 32, w3.eth.block_number - 1)
    assert "block hash does not match" in revert_reason(wrong_hash, accounts.PROPOSER)


def test_an_output_for_a_future_l2_block_is_refused(w3: Web3) -> None:
    now = w3.eth.get_block("latest")["timestamp"]
    artifact = lab_artifact("L2OutputOracle")
    batch = TxBatch.start(w3, accounts.DEPLOYER.signer())
    batch.send(
        "hourly oracle",
        None,
        artifact.deploy_data(3600, 1, 0, now, accounts.PROPOSER.address, accounts.CHALLENGER.address, 604800),
        gas=2_500_000,
    )
    address = batch.wait()[0]["contractAddress"]
    hourly = w3.eth.contract(address=address, abi=artifact.abi)
    future = hourly.functions.proposeL2Output(ROOT_A, 3600, NO_L1_HASH, 0)
    assert "cannot propose L2 output in the future" in revert_reason(future, accounts.PROPOSER)


def test_only_the_challenger_deletes_outputs(w3: Web3, oracle: Any) -> None:
    transact(w3, accounts.PROPOSER, oracle.functions.proposeL2Output(ROOT_A, 10, NO_L1_HASH, 0))
    transact(w3, accounts.PROPOSER, oracle.functions.proposeL2Output(ROOT_B, 20, NO_L1_HASH, 0))
    delete = oracle.functions.deleteL2Outputs(1)
    for intruder in (accounts.PROPOSER, accounts.ATTACKER):
        assert "only the challenger address can delete outputs" in revert_reason(delete, intruder)
    with pytest.raises(LabError, match="reverted"):
        transact(w3, accounts.ATTACKER, delete, gas=200_000)
    assert oracle.functions.latestOutputIndex().call() == 1

    receipt = transact(w3, accounts.CHALLENGER, delete)
    (event,) = oracle.events.OutputsDeleted().process_receipt(receipt, errors=DISCARD)
    assert (event.args.prevNextOutputIndex, event.args.newNextOutputIndex) == (2, 1)
    assert oracle.functions.latestOutputIndex().call() == 0
    assert oracle.functions.nextBlockNumber().call() == 20
    assert "cannot delete outputs after the latest output index" in revert_reason(
        oracle.functions.deleteL2Outputs(1), accounts.CHALLENGER
    )
