"""Unit tests (community.general style) for argument handling, unit conversion, signature sorting and guards."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from ansible.errors import AnsibleFilterError
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args
from ansible_collections.jeju.ops.plugins.filter import units as unit_filters
from ansible_collections.jeju.ops.plugins.module_utils.common import ModuleFailure
from ansible_collections.jeju.ops.plugins.module_utils.funding import Guards
from ansible_collections.jeju.ops.plugins.module_utils.ledger import Ledger
from ansible_collections.jeju.ops.plugins.module_utils.probe import percentile
from ansible_collections.jeju.ops.plugins.module_utils.safe import (
    SafeState,
    SafeTx,
    ordered_signatures,
    pause_data,
    recover,
    sign_with_keys,
)
from ansible_collections.jeju.ops.plugins.module_utils.units import UnitError, from_wei, to_wei
from ansible_collections.jeju.ops.plugins.modules import account_balance, fund_account

from jeju_lab.chains import accounts, safe_tools

ETHER = 10**18
OWNERS = accounts.GUARDIAN_OWNERS


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


@pytest.fixture
def captured(monkeypatch):
    def exit_json(self, **kwargs):
        raise ExitJson(kwargs)

    def fail_json(self, msg, **kwargs):
        raise FailJson(dict(kwargs, msg=msg, failed=True))

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


def run_main(module, args: dict) -> dict:
    with patch_module_args(args), pytest.raises((ExitJson, FailJson)) as caught:
        module.main()
    return caught.value.args[0]


# -- units -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "unit", "wei"), [
    ("1.5", "eth", 15 * 10**17), (2, "eth", 2 * ETHER), ("0.000000001", "eth", 10**9),
    ("30", "gwei", 30 * 10**9), ("1.000000000000000001", "eth", ETHER + 1), (7, "wei", 7),
])
def test_to_wei_is_exact(value, unit, wei):
    assert to_wei(value, unit) == wei


@pytest.mark.parametrize(("value", "unit"), [("0.1", "wei"), ("-1", "eth"), ("lots", "eth"), ("1", "finney")])
def test_to_wei_refuses_what_is_not_an_amount(value, unit):
    with pytest.raises(UnitError):
        to_wei(value, unit)


def test_from_wei_accepts_hex_and_decimal_strings():
    assert from_wei("0xde0b6b3a7640000") == Decimal(1)
    assert from_wei(str(25 * 10**17)) == Decimal("2.5")
    assert from_wei(0) == 0


def test_filters_convert_and_fail_with_ansible_errors():
    filters = unit_filters.FilterModule().filters()
    assert filters["to_eth"](15 * 10**17) == 1.5
    assert filters["to_gwei"](30 * 10**9) == 30.0
    assert filters["to_eth"](123456789 * 10**10, 3) == 1.235
    assert filters["to_wei"]("2.5") == 25 * 10**17
    assert filters["to_wei"](2, "gwei") == 2 * 10**9
    with pytest.raises(AnsibleFilterError, match="to_wei"):
        filters["to_wei"]("two")


# -- argument handling -------------------------------------------------------------------------------------
def test_fund_account_refuses_a_recipient_outside_the_allowlist_before_any_rpc(captured, tmp_path):
    result = run_main(fund_account, {
        "rpc_urls": ["http://127.0.0.1:9"], "expect_chain_id": 1, "to": "0x" + "22" * 20,
        "allowed_recipients": {"batcher": "0x" + "11" * 20}, "target_balance_eth": 1, "max_transfer_eth": 1,
        "daily_cap_eth": 1, "signer_key": "0x" + "ab" * 32, "run_id": "r", "ledger_path": str(tmp_path / "l"),
    })
    assert result["failed"] and "not in the inventory's allowed_recipients (batcher)" in result["msg"]
    assert "ab" * 32 not in json.dumps(result)


def test_fund_account_needs_an_intent_or_run_id(captured, tmp_path):
    result = run_main(fund_account, {
        "rpc_urls": ["http://127.0.0.1:9"], "expect_chain_id": 1, "to": "batcher",
        "allowed_recipients": {"batcher": "0x" + "11" * 20}, "target_balance_eth": 1, "max_transfer_eth": 1,
        "daily_cap_eth": 1, "signer_key": "0x" + "ab" * 32, "ledger_path": str(tmp_path / "l"),
    })
    assert result["failed"] and "set intent, or run_id" in result["msg"]


def test_fund_account_requires_expect_chain_id(captured, tmp_path):
    result = run_main(fund_account, {"rpc_urls": ["http://127.0.0.1:9"], "to": "batcher",
                                     "allowed_recipients": {}, "target_balance_eth": 1, "max_transfer_eth": 1,
                                     "daily_cap_eth": 1, "ledger_path": str(tmp_path / "l")})
    assert result["failed"] and "expect_chain_id" in result["msg"]


def test_account_balance_rejects_a_bad_address_and_unknown_minimums(captured):
    bad = run_main(account_balance, {"rpc_urls": ["http://127.0.0.1:9"], "accounts": {"batcher": "0x1234"}})
    assert bad["failed"] and "account batcher '0x1234' is not an Ethereum address" in bad["msg"]
    unknown = run_main(account_balance, {"rpc_urls": ["http://127.0.0.1:9"], "accounts": {"a": "0x" + "11" * 20},
                                         "min_balance_eth": {"b": 1}})
    assert unknown["failed"] and "not in accounts: b" in unknown["msg"]


def test_a_dead_endpoint_is_named_in_the_failure(captured):
    result = run_main(account_balance, {"rpc_urls": ["http://127.0.0.1:9"], "accounts": {"a": "0x" + "11" * 20}})
    assert result["failed"] and "http://127.0.0.1:9" in result["msg"]
    assert result["endpoints_tried"][0]["error"].startswith("unreachable")


# -- guards ------------------------------------------------------------------------------------------------
def test_top_up_sends_the_difference_and_nothing_when_funded():
    guards = Guards(target_wei=5 * ETHER, max_transfer_wei=3 * ETHER, daily_cap_wei=10 * ETHER)
    assert guards.top_up(2 * ETHER) == 3 * ETHER
    assert guards.top_up(5 * ETHER) == 0
    assert guards.top_up(7 * ETHER) == 0


def test_guards_refuse_with_the_numbers():
    guards = Guards(target_wei=5 * ETHER, max_transfer_wei=3 * ETHER, daily_cap_wei=4 * ETHER)
    assert guards.refusal(3 * ETHER, 0, "batcher") is None
    too_big = guards.refusal(4 * ETHER, 0, "batcher")
    assert "needs 4 ETH, above max_transfer_eth 3 ETH" in too_big
    over_day = guards.refusal(2 * ETHER, 3 * ETHER, "batcher")
    assert "to 5 ETH, above daily_cap_eth 4 ETH (3 ETH already sent)" in over_day


def test_ledger_counts_each_intent_once_and_only_the_last_day(tmp_path):
    ledger = Ledger(str(tmp_path / "ledger.jsonl"))
    sender = "0x" + "aa" * 20
    ledger.append(intent="a", chain_id=1, state="prepared", amount_wei=ETHER, prepared_ts=1000.0, **{"from": sender})
    ledger.append(intent="a", chain_id=1, state="confirmed")
    ledger.append(intent="b", chain_id=1, state="prepared", amount_wei=2 * ETHER, prepared_ts=90000.0,
                  **{"from": sender})
    ledger.append(intent="c", chain_id=1, state="prepared", amount_wei=5 * ETHER, prepared_ts=90000.0,
                  **{"from": sender})
    ledger.append(intent="c", chain_id=1, state="aborted")
    ledger.append(intent="d", chain_id=2, state="prepared", amount_wei=ETHER, prepared_ts=90000.0,
                  **{"from": sender})
    assert ledger.spent_last_day(1, sender, now=80000.0) == 3 * ETHER
    assert ledger.spent_last_day(1, sender, now=90001.0) == 2 * ETHER
    assert ledger.latest(1, "a")["state"] == "confirmed"


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 50) is None


# -- Safe signatures ----------------------------------------------------------------------------------------
SAFE = "0x" + "5a" * 20
CONFIG = "0x" + "c0" * 20


def pause_tx() -> SafeTx:
    from eth_utils import to_checksum_address

    return SafeTx(8453, to_checksum_address(SAFE), 3, to_checksum_address(CONFIG), pause_data("breach"))


def test_safe_tx_hash_matches_the_lab_tools():
    tx = pause_tx()
    lab = safe_tools.SafeTx(chain_id=8453, safe=tx.safe, nonce=3, to=tx.to, data=safe_tools.pause_calldata("breach"))
    assert tx.data == lab.data
    assert tx.hash() == lab.safe_tx_hash()


def test_signatures_are_sorted_by_owner_address_and_recovered():
    tx = pause_tx()
    found = sign_with_keys(tx, [o.private_key() for o in reversed(OWNERS)])
    state = SafeState(8453, 3, 2, tuple(o.address for o in OWNERS))
    packed, signers = ordered_signatures(found, state, tx.safe)
    assert signers == sorted((o.address for o in OWNERS), key=lambda a: int(a, 16))
    assert list(recover(tx, packed)) == signers  # the byte order is the owner order
    lab = safe_tools.sign(safe_tools.SafeTx(8453, tx.safe, 3, tx.to, tx.data), OWNERS)
    assert "0x" + packed.hex() == lab.signatures


def test_a_signature_from_a_non_owner_is_refused():
    tx = pause_tx()
    found = sign_with_keys(tx, [OWNERS[0].private_key(), accounts.ATTACKER.private_key()])
    state = SafeState(8453, 3, 2, tuple(o.address for o in OWNERS))
    with pytest.raises(ModuleFailure, match=f"signatures from {accounts.ATTACKER.address}, who are not owners"):
        ordered_signatures(found, state, tx.safe)
