"""batcher-failing faults: batches stop landing in the inbox for the runbook's reasons, and the runbook's remedy,
applied by hand (cast, kubectl), makes them land again."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from tests.support import LabHandle

from .helpers import (
    ETH,
    GWEI,
    balance,
    cast,
    endpoints,
    eventually,
    inbox_txs,
    kubectl,
    l1,
    logs_since,
    top_up,
)


def batches_land(lab: LabHandle, within: float = 25.0) -> list[str]:
    """A new successful batch from the batcher to the inbox, mined after now."""
    start = l1(lab).eth.block_number + 1
    return eventually(lambda: inbox_txs(lab, start), bool, "a new batch transaction in the inbox", within)


def no_batch_while(lab: LabHandle, error: str, started: float) -> None:
    """The batcher logs `error` on two batch attempts and sends nothing to the inbox in between."""
    def errors() -> int:
        return logs_since(lab, "op-batcher", started).lower().count(error.lower())

    # A batch sent just before the fault waits out its 20 s confirmation timeout before the next attempt fails.
    eventually(errors, lambda n: n >= 1, f"op-batcher logs '{error}'", within=45)
    first_block = l1(lab).eth.block_number
    eventually(errors, lambda n: n >= 2, f"op-batcher logs '{error}' again", within=20)
    assert inbox_txs(lab, first_block + 1) == []


@pytest.fixture
def batcher_balance_restored(healthy_lab: LabHandle) -> Iterator[LabHandle]:
    before = balance(healthy_lab, "batcher")
    yield healthy_lab
    cast("rpc", "--rpc-url", endpoints(healthy_lab)["l1_anvil"], "anvil_setBalance",
         healthy_lab.state["deployment"]["batcher"], hex(before))


# -- batcher-unfunded -------------------------------------------------------------------------------------
def test_batcher_unfunded_balance_tiny_insufficient_funds_and_no_batches(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    started = time.time()
    lab.lab.break_fault("batcher-unfunded")
    assert balance(lab, "batcher") < ETH // 1000
    no_batch_while(lab, "insufficient funds", started)


def test_batcher_unfunded_top_up_from_the_funding_wallet_heals(batcher_balance_restored: LabHandle) -> None:
    lab = batcher_balance_restored
    lab.lab.break_fault("batcher-unfunded")
    assert balance(lab, "batcher") < ETH // 1000
    top_up(lab, "batcher", 5)
    assert balance(lab, "batcher") >= 5 * ETH
    batches_land(lab)


# -- gas-spike --------------------------------------------------------------------------------------------
def base_fee(lab: LabHandle) -> int:
    return int(l1(lab).eth.get_block("latest")["baseFeePerGas"])


def test_gas_spike_holds_the_base_fee_over_100_gwei_and_batches_stop(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    started = time.time()
    lab.lab.break_fault("gas-spike")
    head = l1(lab).eth.block_number
    eventually(lambda: l1(lab).eth.block_number, lambda n: n >= head + 3, "three more L1 blocks", within=15)
    fees = [int(l1(lab).eth.get_block(n)["baseFeePerGas"]) for n in range(head + 1, head + 4)]
    assert all(fee > 100 * GWEI for fee in fees), fees
    no_batch_while(lab, "fee too high", started)


def test_gas_spike_raising_the_fee_limit_heals(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("gas-spike")
    eventually(lambda: base_fee(lab), lambda fee: fee > 100 * GWEI, "base fee over 100 gwei", within=10)
    kubectl(lab, "set", "env", "deployment/op-batcher", "OP_BATCHER_TXMGR_FEE_LIMIT_THRESHOLD=1000")
    kubectl(lab, "rollout", "status", "deployment/op-batcher", "--timeout=20s")
    batches_land(lab)
    assert base_fee(lab) > 100 * GWEI, "the spike still holds: the batcher pays it"


# -- eigenda-down -----------------------------------------------------------------------------------------
def test_eigenda_down_health_503_and_alt_da_batches_fail(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    started = time.time()
    lab.lab.break_fault("eigenda-down")
    health = requests.get(endpoints(lab)["eigenda_proxy_url"] + "/health", timeout=5)
    assert health.status_code == 503
    no_batch_while(lab, "Failed to post input to Alt DA", started)


def test_eigenda_down_calldata_fallback_heals(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("eigenda-down")
    assert requests.get(endpoints(lab)["eigenda_proxy_url"] + "/health", timeout=5).status_code == 503
    kubectl(lab, "set", "env", "deployment/op-batcher", "OP_BATCHER_ALTDA_ENABLED=false")
    kubectl(lab, "rollout", "status", "deployment/op-batcher", "--timeout=20s")
    landed = batches_land(lab)
    data = l1(lab).eth.get_transaction(landed[0])["input"]
    assert bytes(data)[:1] == b"\x00", "a calldata frame (version 0), not an Alt-DA commitment"
    assert requests.get(endpoints(lab)["eigenda_proxy_url"] + "/health", timeout=5).status_code == 503
