"""fund_account against a real anvil: guard rails, once per intent, crashes and concurrent runs."""

from __future__ import annotations

import json
import signal
import time

import pytest
from conftest import start_module_file

from jeju_lab.anvil import rpc_call
from jeju_lab.chains import accounts

ETHER = 10**18
FUNDER = accounts.FUNDING_WALLET
KEY = FUNDER.private_key()
BATCHER = "0x" + "ba" * 20


def balance(url: str, address: str) -> int:
    return int(rpc_call(url, "eth_getBalance", [address, "latest"]), 16)


def sent_count(url: str) -> int:
    return int(rpc_call(url, "eth_getTransactionCount", [FUNDER.address, "latest"]), 16)


@pytest.fixture
def funding(fresh_anvil, tmp_path):
    rpc_call(fresh_anvil.url, "anvil_setBalance", [BATCHER, hex(ETHER)])
    return dict(rpc_urls=[fresh_anvil.url], expect_chain_id=901, to="batcher",
                allowed_recipients={"batcher": BATCHER}, target_balance_eth="3", max_transfer_eth="2.5",
                daily_cap_eth="4", signer_key=KEY, run_id="run-1", ledger_path=str(tmp_path / "ledger.jsonl"))


def test_check_mode_reports_the_amount_and_caps_and_sends_nothing(fresh_anvil, funding, run_module):
    result = run_module("fund_account", check=True, **funding)
    assert result["changed"] is True and result["would_send_eth"] == 2.0 and result["tx_hash"] is None
    assert result["daily_cap_left_eth"] == 4.0 and result["max_transfer_eth"] == 2.5
    assert sent_count(fresh_anvil.url) == 0


def test_tops_up_to_target_then_sends_nothing_when_funded(fresh_anvil, funding, run_module):
    first = run_module("fund_account", **funding)
    assert first["changed"] is True and first["amount_wei"] == 2 * ETHER
    assert first["balance_before_eth"] == 1.0 and first["balance_after_eth"] == 3.0
    assert balance(fresh_anvil.url, BATCHER) == 3 * ETHER
    funded = run_module("fund_account", **dict(funding, run_id="run-2"))
    assert funded["changed"] is False and funded["tx_hash"] is None and "nothing sent" in funded["msg"]
    assert sent_count(fresh_anvil.url) == 1


def test_the_same_intent_run_twice_sends_once(fresh_anvil, funding, run_module):
    first = run_module("fund_account", **funding)
    rpc_call(fresh_anvil.url, "anvil_setBalance", [BATCHER, hex(0)])  # drained again meanwhile
    again = run_module("fund_account", **funding)
    assert again["changed"] is False and again["tx_hash"] == first["tx_hash"]
    assert again["sent_by_this_run"] is False
    assert sent_count(fresh_anvil.url) == 1


def test_caps_and_allowlist_refuse_with_the_numbers(fresh_anvil, funding, run_module):
    too_big = run_module("fund_account", **dict(funding, target_balance_eth="5"))
    assert too_big["failed"] and "needs 4 ETH, above max_transfer_eth 2.5 ETH" in too_big["msg"]
    run_module("fund_account", **funding)  # 2 ETH today
    rpc_call(fresh_anvil.url, "anvil_setBalance", [BATCHER, hex(ETHER // 2)])
    over_day = run_module("fund_account", **dict(funding, run_id="run-2"))
    assert over_day["failed"] and "to 4.5 ETH, above daily_cap_eth 4 ETH (2 ETH already sent)" in over_day["msg"]
    stranger = run_module("fund_account", **dict(funding, to="0x" + "ee" * 20))
    assert stranger["failed"] and "not in the inventory's allowed_recipients" in stranger["msg"]
    wrong_chain = run_module("fund_account", **dict(funding, expect_chain_id=8453))
    assert wrong_chain["failed"] and "serves chain id 901 but expect_chain_id is 8453" in wrong_chain["msg"]
    assert sent_count(fresh_anvil.url) == 1


def wait_for_pending(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if int(rpc_call(url, "eth_getTransactionCount", [FUNDER.address, "pending"]), 16) > 0:
            return
        time.sleep(0.05)
    raise AssertionError("the transfer never reached the pool")


@pytest.mark.parametrize("dropped", [False, True], ids=["tx-in-pool", "tx-lost"])
def test_a_crash_between_send_and_record_then_a_rerun_sends_once(fresh_anvil, funding, collections, tmp_path,
                                                                  run_module, dropped):
    url = fresh_anvil.url
    rpc_call(url, "evm_setAutomine", [False])  # the transfer stays pending: the run waits for its receipt
    crashed = start_module_file(collections, tmp_path, "fund_account", funding)
    try:
        wait_for_pending(url)
        crashed.send_signal(signal.SIGKILL)  # dies after broadcasting, before recording the outcome
    finally:
        crashed.wait(10)
    with open(funding["ledger_path"]) as ledger:
        states = [json.loads(line)["state"] for line in ledger]
    assert "confirmed" not in states
    if dropped:  # the node lost it (restart, eviction): the rerun must re-broadcast the same signed bytes
        pending = rpc_call(url, "txpool_content")["pending"]
        (tx_hash,) = [tx["hash"] for by_nonce in pending.values() for tx in by_nonce.values()]
        rpc_call(url, "anvil_dropTransaction", [tx_hash])
    rpc_call(url, "evm_setAutomine", [True])
    rpc_call(url, "evm_mine", [])
    rerun = run_module("fund_account", **funding)
    assert rerun["_rc"] == 0 and rerun["sent_by_this_run"] is False
    assert sent_count(url) == 1 and balance(url, BATCHER) == 3 * ETHER


@pytest.mark.parametrize("dropped", [False, True], ids=["tx-in-pool", "tx-lost"])
def test_a_crash_after_signing_then_a_new_run_sees_that_transfer_through_and_pays_nothing_more(
        fresh_anvil, funding, collections, tmp_path, run_module, dropped):
    """The rerun after a crash is a new run: a new intent. The dead run's transfer is still pending (or lost) when
    the new run reads a balance that is still low; it must not sign a second one."""
    url = fresh_anvil.url
    rpc_call(url, "evm_setAutomine", [False])
    crashed = start_module_file(collections, tmp_path, "fund_account", funding)
    try:
        wait_for_pending(url)
        crashed.send_signal(signal.SIGKILL)
    finally:
        crashed.wait(10)
    with open(funding["ledger_path"]) as ledger:
        (signed,) = {json.loads(line).get("tx_hash") for line in ledger} - {None}
    if dropped:
        rpc_call(url, "anvil_dropTransaction", [signed])
    rpc_call(url, "evm_setIntervalMining", [1])  # blocks again, but the transfer is not mined yet when read
    assert balance(url, BATCHER) == ETHER
    preview = run_module("fund_account", check=True, **dict(funding, run_id="run-2"))
    assert preview["settles"] == [signed] and preview["would_send_eth"] == 0.0, preview
    rerun = run_module("fund_account", **dict(funding, run_id="run-2"))
    assert rerun["_rc"] == 0 and rerun["changed"] is False, rerun
    assert rerun["settled"] == [signed] and f"saw {signed}" in rerun["msg"] and "nothing new sent" in rerun["msg"]
    assert sent_count(url) == 1 and balance(url, BATCHER) == 3 * ETHER
    again = run_module("fund_account", **dict(funding, run_id="run-3"))  # settled now: nothing left to see to
    assert "settled" not in again and again["changed"] is False and sent_count(url) == 1


def test_two_concurrent_runs_for_one_intent_send_once(fresh_anvil, funding, collections, tmp_path):
    runs = [start_module_file(collections, tmp_path, "fund_account", funding) for _ in range(2)]
    results = [json.loads(run.communicate(timeout=60)[0]) for run in runs]
    assert all(not r.get("failed") for r in results), results
    assert sorted(r["sent_by_this_run"] for r in results) == [False, True]
    assert results[0]["tx_hash"] == results[1]["tx_hash"]
    assert sent_count(fresh_anvil.url) == 1 and balance(fresh_anvil.url, BATCHER) == 3 * ETHER
