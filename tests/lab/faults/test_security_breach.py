"""The exploit fault on a lab of its own (the pause it ends with is not undone): an attacker drains the
OptimismPortal, and the guardian Safe's pause plus stopping the stack, done by hand, stops the drain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from jeju_lab.chains import accounts, safe_tools
from tests.support import LabHandle, running_lab

from .helpers import addresses, contract, eventually, kubectl, l1, lab_vars, pods

DRAIN_PERIOD_SECONDS = 2.0  # the lab attacker's pace (jeju_lab.attacker)


@pytest.fixture(scope="module")
def own_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    with running_lab(tmp_path_factory.mktemp("exploit-lab")) as handle:
        yield handle


def portal_balance(lab: LabHandle) -> int:
    return int(l1(lab).eth.get_balance(Web3.to_checksum_address(addresses(lab)["optimism_portal"])))


def portal(lab: LabHandle) -> Any:
    return contract(l1(lab), "OptimismPortal", addresses(lab)["optimism_portal"])


def draining(lab: LabHandle) -> tuple[int, int]:
    """Two portal balances a few drain periods apart."""
    before = portal_balance(lab)
    after = eventually(lambda: portal_balance(lab), lambda now: now < before, "the portal's balance falls",
                       within=4 * DRAIN_PERIOD_SECONDS)
    return before, after


def test_exploit_drains_the_portal_to_the_attacker(own_lab: LabHandle) -> None:
    lab = own_lab
    attacker = Web3.to_checksum_address(accounts.ATTACKER.address)
    attacker_before = l1(lab).eth.get_balance(attacker)
    lab.lab.break_fault("exploit")
    try:
        before, after = draining(lab)
        assert before > after
        eventually(lambda: l1(lab).eth.get_balance(attacker), lambda now: now > attacker_before,
                   "the attacker's balance grows")
        assert portal(lab).functions.paused().call() is False
    finally:
        lab.lab.heal("exploit")


def test_exploit_guardian_pause_and_stopping_the_stack_stop_the_drain(own_lab: LabHandle) -> None:
    lab = own_lab
    lab.lab.break_fault("exploit")
    draining(lab)

    presigned = Path(lab_vars(lab)["jeju_presigned_dir"])
    nonce = int(safe_tools.safe_contract(l1(lab), addresses(lab)["guardian_safe"]).functions.nonce().call())
    signed = safe_tools.read_presigned(safe_tools.presigned_path(presigned, nonce))
    receipt = safe_tools.execute(l1(lab), signed, sender=accounts.GUARDIAN_OWNERS[0])
    assert receipt["status"] == 1
    assert portal(lab).functions.paused().call() is True
    for deployment in ("op-node", "op-batcher", "op-proposer"):
        kubectl(lab, "scale", f"deployment/{deployment}", "--replicas=0")
    eventually(lambda: [pods(lab, app) for app in ("op-node", "op-batcher", "op-proposer")],
               lambda found: not any(found), "sequencer, batcher and proposer stopped")

    time.sleep(DRAIN_PERIOD_SECONDS)  # let an attempt already in flight land
    stopped_at, drained = portal_balance(lab), lab.lab.status()["faults"]["drained_wei"]
    time.sleep(2 * DRAIN_PERIOD_SECONDS)  # two more attempts by the attacker
    # the lab user's deposits may add to the portal; nothing leaves it
    assert portal_balance(lab) >= stopped_at, "the portal still loses ETH"
    assert lab.lab.status()["faults"]["drained_wei"] == drained > 0
