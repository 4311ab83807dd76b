"""proposer-stuck faults: outputs stop landing on the L2OutputOracle (or a wrong one lands), and the runbook's
remedy, applied by hand (cast, kubectl), brings correct outputs back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from jeju_lab.chains import accounts
from tests.support import LabHandle

from .helpers import (
    ETH,
    addresses,
    balance,
    cast,
    contract,
    endpoints,
    eventually,
    kubectl,
    l1,
    logs_since,
    op_node,
    top_up,
)


def oracle(lab: LabHandle) -> Any:
    return contract(l1(lab), "L2OutputOracle", addresses(lab)["l2_output_oracle"])


def next_output_index(lab: LabHandle) -> int:
    return int(oracle(lab).functions.nextOutputIndex().call())


def output(lab: LabHandle, index: int) -> tuple[str, int]:
    root, _timestamp, l2_block = oracle(lab).functions.getL2Output(index).call()
    return "0x" + bytes(root).hex(), int(l2_block)


def op_node_root(lab: LabHandle, l2_block: int) -> str:
    return str(op_node(lab, "optimism_outputAtBlock", hex(l2_block))["outputRoot"])


def a_correct_output_lands(lab: LabHandle, within: float = 30.0) -> None:
    """The proposer publishes a new output, and it is the root op-node computes for that block."""
    start = next_output_index(lab)
    eventually(lambda: next_output_index(lab), lambda n: n > start, "a new output on the oracle", within)
    root, l2_block = output(lab, start)
    assert root == op_node_root(lab, l2_block)


def proposer_errors(lab: LabHandle, error: str, started: float) -> int:
    return logs_since(lab, "op-proposer", started).lower().count(error.lower())


@pytest.fixture
def proposer_balance_restored(healthy_lab: LabHandle) -> Iterator[LabHandle]:
    before = balance(healthy_lab, "proposer")
    yield healthy_lab
    cast("rpc", "--rpc-url", endpoints(healthy_lab)["l1_anvil"], "anvil_setBalance",
         addresses(healthy_lab)["proposer"], hex(before))


# -- proposer-unfunded ------------------------------------------------------------------------------------
def test_proposer_unfunded_insufficient_funds_and_no_output(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    started = time.time()
    lab.lab.break_fault("proposer-unfunded")
    assert balance(lab, "proposer") < ETH // 1000
    eventually(lambda: proposer_errors(lab, "insufficient funds", started), lambda n: n >= 1,
               "op-proposer logs insufficient funds", within=30)
    index = next_output_index(lab)
    eventually(lambda: proposer_errors(lab, "insufficient funds", started), lambda n: n >= 2,
               "op-proposer fails again on its next poll", within=20)
    assert next_output_index(lab) == index


def test_proposer_unfunded_top_up_heals(proposer_balance_restored: LabHandle) -> None:
    lab = proposer_balance_restored
    lab.lab.break_fault("proposer-unfunded")
    assert balance(lab, "proposer") < ETH // 1000
    top_up(lab, "proposer", 2)
    assert balance(lab, "proposer") >= 2 * ETH
    a_correct_output_lands(lab)


# -- proposer-partitioned ---------------------------------------------------------------------------------
def curl_op_node(lab: LabHandle) -> Any:
    return kubectl(lab, "exec", "deploy/op-proposer", "--", "curl", "-s", "-m", "10", "http://op-node:9545",
                   check=False)


def test_proposer_partitioned_times_out_reaching_op_node(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    started = time.time()
    lab.lab.break_fault("proposer-partitioned")
    reach = curl_op_node(lab)
    assert reach.returncode == 28 and "Timeout was reached" in reach.stderr
    eventually(lambda: proposer_errors(lab, "i/o timeout", started), lambda n: n >= 1,
               "op-proposer logs dial tcp: i/o timeout", within=15)
    assert op_node(lab, "optimism_syncStatus")["unsafe_l2"]["number"] > 0, "op-node itself is fine"


def test_proposer_partitioned_heals_with_a_restart(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("proposer-partitioned")
    assert curl_op_node(lab).returncode == 28
    kubectl(lab, "rollout", "restart", "deployment/op-proposer")
    kubectl(lab, "rollout", "status", "deployment/op-proposer", "--timeout=20s")
    assert curl_op_node(lab).returncode == 0
    a_correct_output_lands(lab)


# -- conflicting-output -----------------------------------------------------------------------------------
def test_conflicting_output_differs_from_op_node(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("conflicting-output")
    index = next_output_index(lab) - 1
    root, l2_block = output(lab, index)
    assert root != op_node_root(lab, l2_block)


def test_conflicting_output_the_challenger_deletes_it_and_a_correct_one_lands(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("conflicting-output")
    index = next_output_index(lab) - 1
    root, l2_block = output(lab, index)
    assert root != op_node_root(lab, l2_block)
    cast("send", "--private-key", accounts.CHALLENGER.private_key(), "--rpc-url", endpoints(lab)["l1_rpc_urls"][1],
         addresses(lab)["l2_output_oracle"], "deleteL2Outputs(uint256)", str(index))
    assert next_output_index(lab) == index
    eventually(lambda: next_output_index(lab), lambda n: n > index, "the proposer proposes that block again",
               within=30)
    assert output(lab, index) == (op_node_root(lab, l2_block), l2_block)
