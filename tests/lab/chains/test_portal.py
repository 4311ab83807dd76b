from __future__ import annotations

from typing import Any

import pytest
from eth_abi.packed import encode_packed
from web3 import Web3
from web3.logs import DISCARD

from jeju_lab.chains import accounts, safe_tools
from jeju_lab.chains.deploy import L1Deployment
from jeju_play.errors import LabError

from .helpers import lab_contract, revert_reason, transact

ETHER = 10**18


def portal(w3: Web3, deployment: L1Deployment) -> Any:
    return lab_contract(w3, "OptimismPortal", deployment.optimism_portal)


def drain(w3: Web3, deployment: L1Deployment, nonce: int = 0) -> Any:
    amount = w3.eth.get_balance(deployment.optimism_portal)
    withdrawal = (nonce, accounts.ATTACKER.address, accounts.ATTACKER.address, amount, 100_000, b"")
    return portal(w3, deployment).functions.finalizeWithdrawalTransaction(withdrawal)


def pause(w3: Web3, deployment: L1Deployment) -> None:
    tx = safe_tools.build_pause_tx(w3, deployment.guardian_safe, deployment.superchain_config, "exploit")
    owners = accounts.GUARDIAN_OWNERS[:2]
    safe_tools.execute(w3, safe_tools.sign(tx, owners), sender=accounts.USER_ALICE)


def test_deposit_emits_the_real_event(w3: Web3, deployment: L1Deployment) -> None:
    before = w3.eth.get_balance(deployment.optimism_portal)
    call = portal(w3, deployment).functions.depositTransaction(
        accounts.USER_BOB.address, ETHER, 100_000, False, b"hi"
    )
    receipt = transact(w3, accounts.USER_ALICE, call, value=2 * ETHER)
    (event,) = portal(w3, deployment).events.TransactionDeposited().process_receipt(receipt, errors=DISCARD)
    assert event.args["from"] == accounts.USER_ALICE.address
    assert event.args.to == accounts.USER_BOB.address
    assert event.args.version == 0
    expected = encode_packed(
        ["uint256", "uint256", "uint64", "bool", "bytes"], [2 * ETHER, ETHER, 100_000, False, b"hi"]
    )
    assert event.args.opaqueData == expected
    assert w3.eth.get_balance(deployment.optimism_portal) == before + 2 * ETHER


def test_attacker_drains_the_portal_while_unpaused(w3: Web3, deployment: L1Deployment) -> None:
    tvl = w3.eth.get_balance(deployment.optimism_portal)
    attacker_before = w3.eth.get_balance(accounts.ATTACKER.address)
    receipt = transact(w3, accounts.ATTACKER, drain(w3, deployment))
    (event,) = portal(w3, deployment).events.WithdrawalFinalized().process_receipt(receipt, errors=DISCARD)
    assert event.args.success is True
    assert w3.eth.get_balance(deployment.optimism_portal) == 0
    gas_paid = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(accounts.ATTACKER.address) == attacker_before + tvl - gas_paid


def test_the_same_withdrawal_cannot_be_replayed(w3: Web3, deployment: L1Deployment) -> None:
    transact(w3, accounts.USER_BOB, portal(w3, deployment).functions.donateETH(), value=5 * ETHER)
    withdrawal = (7, accounts.ATTACKER.address, accounts.ATTACKER.address, ETHER, 100_000, b"")
    call = portal(w3, deployment).functions.finalizeWithdrawalTransaction(withdrawal)
    transact(w3, accounts.ATTACKER, call)
    assert "withdrawal has already been finalized" in revert_reason(call, accounts.ATTACKER)


def test_the_pause_stops_the_drain(w3: Web3, deployment: L1Deployment) -> None:
    pause(w3, deployment)
    tvl = w3.eth.get_balance(deployment.optimism_portal)
    call = drain(w3, deployment)
    assert "OptimismPortal: paused" in revert_reason(call, accounts.ATTACKER)
    with pytest.raises(LabError, match="reverted"):
        transact(w3, accounts.ATTACKER, call, gas=300_000)
    assert w3.eth.get_balance(deployment.optimism_portal) == tvl == deployment.portal_tvl_wei
