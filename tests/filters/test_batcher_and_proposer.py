"""jeju.ops.batcher_failing_cause and proposer_stuck_cause (+ proposer_reach, output_recovered)."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.jeju.ops.plugins.filter.batcher_failing import batcher_failing_cause
from ansible_collections.jeju.ops.plugins.filter.proposer_stuck import (
    output_recovered,
    proposer_reach,
    proposer_stuck_cause,
)

ENV = {"batcher_fee_limit": "OP_BATCHER_TXMGR_FEE_LIMIT_THRESHOLD", "batcher_altda_enabled": "OP_BATCHER_ALTDA_ENABLED"}
SETTINGS = {"fee_limit_gwei": 200}


def batcher_triage(altda: str = "true", limit: str = "100", logs: list[str] | None = None) -> dict[str, Any]:
    return {"deployment": {"container": "op-batcher", "env": {ENV["batcher_altda_enabled"]: altda,
                                                              ENV["batcher_fee_limit"]: limit}},
            "logs": logs or [], "pods": [], "ready_pods": 1}


def batcher_reads(landing: int = 0, l1: dict[str, Any] | None = None, base_fee: float = 1.0,
                  low: list[str] | None = None, da: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"batches": {"batches_in_window": landing, "batcher_nonce": 7, "last_batch": {"hash": "0xb"}},
            "l1": {"number": 100, "age_seconds": 1, "stalled": False} if l1 is None else l1,
            "fees": {"base_fee_gwei": base_fee, "priority_fee_gwei": 1.0},
            "balances": {"below_min": low or [], "balances": {"batcher": {"eth": 3.0, "min_eth": 1.0}}},
            "da": {"status": 200} if da is None else da}


BATCHER = [
    ("batches land", batcher_reads(landing=2), batcher_triage(), "not_failing"),
    ("landing wins over L1 and fees", batcher_reads(landing=1, l1={}, base_fee=300), batcher_triage(),
     "not_failing"),
    ("a low batcher is unfunded while batches still land", batcher_reads(landing=2, low=["batcher"]),
     batcher_triage(), "unfunded"),
    ("L1 does not answer", batcher_reads(l1={"msg": "unreachable"}), batcher_triage(), "l1_down"),
    ("L1 stalled", batcher_reads(l1={"number": 1, "stalled": True}), batcher_triage(), "l1_down"),
    ("unfunded", batcher_reads(low=["batcher"]), batcher_triage(), "unfunded"),
    ("only the proposer is low", batcher_reads(low=["proposer"]), batcher_triage(), "other"),
    ("unfunded wins over a gas spike", batcher_reads(low=["batcher"], base_fee=300), batcher_triage(), "unfunded"),
    ("gas spike over the limit", batcher_reads(base_fee=300), batcher_triage(), "gas_spike"),
    ("no limit set: op-batcher's 100 gwei", batcher_reads(base_fee=60), batcher_triage(limit=""), "gas_spike"),
    ("EigenDA down", batcher_reads(da={"status": 503}), batcher_triage(), "da_down"),
    ("EigenDA unreachable", batcher_reads(da={"status": -1}), batcher_triage(), "da_down"),
    ("EigenDA down but calldata", batcher_reads(da={"status": 503}), batcher_triage(altda="false"), "other"),
    ("nothing known", batcher_reads(), batcher_triage(), "other"),
]


@pytest.mark.parametrize(("reads", "triage", "expected"), [c[1:] for c in BATCHER], ids=[c[0] for c in BATCHER])
def test_batcher_causes(reads: dict[str, Any], triage: dict[str, Any], expected: str) -> None:
    decided = batcher_failing_cause(reads, triage, SETTINGS, 15, ENV)
    assert decided["cause"] == expected and decided["healthy"] is (expected == "not_failing")


def test_batcher_fee_limit_needed_covers_the_spike_rounded_up() -> None:
    decided = batcher_failing_cause(batcher_reads(base_fee=300), batcher_triage(), SETTINGS, 15, ENV)
    assert decided["evidence"]["l1_fee_cap_gwei"] == 601.0  # 2 x 300 + 1 gwei tip
    assert decided["fee_limit_new_gwei"] == 700 and decided["fee_limit_gwei"] == 100.0
    low = batcher_failing_cause(batcher_reads(base_fee=10), batcher_triage(), SETTINGS, 15, ENV)
    assert low["fee_limit_new_gwei"] == 200  # never below the inventory's fee_limit_gwei
    assert decided["nonce_at_diagnosis"] == 7


def oracle(proposed: bool = True, age: int = 10, mismatched: list[dict[str, Any]] | None = None,
           proposer: str = "0xAbC", next_block: int = 50) -> dict[str, Any]:
    return {"proposed": proposed, "age_seconds": age, "mismatched_outputs": mismatched or [], "proposer": proposer,
            "next_block_number": next_block, "latest_index": 3, "latest_output": {"l2_block_number": 40}}


def proposer_reads(oracle_: dict[str, Any] | None = None, sync: dict[str, Any] | None = None,
                   low: bool = False, reach: bool = True) -> dict[str, Any]:
    return {"oracle": oracle_ or oracle(),
            "sync": {"finalized_l2_number": 60, "safe_l2_number": 61, "unsafe_l2_number": 70} if sync is None else sync,
            "balance": {"below_min": ["proposer"] if low else [],
                        "balances": {"proposer": {"eth": 1.0 if low else 5.0, "min_eth": 2.0}}},
            "reach": {"ok": reach, "summary": "answers" if reach else "curl exit 28: timeout"}}


PROPOSER = [
    ("fresh", proposer_reads(), "not_stuck"),
    ("conflicting root wins", proposer_reads(oracle(mismatched=[{"index": 2}]), low=True), "conflicting_output"),
    ("unfunded", proposer_reads(low=True), "unfunded"),
    ("op-node down", proposer_reads(sync={"failed": False, "msg": "unreachable"}), "op_node_down"),
    ("unreachable from the pod", proposer_reads(reach=False), "op_node_unreachable"),
    ("overdue, finalized below the next block", proposer_reads(oracle(age=500, next_block=80)), "batcher_stalled"),
    ("overdue for no known reason", proposer_reads(oracle(age=500, next_block=50)), "other"),
    ("none proposed yet", proposer_reads(oracle(proposed=False, next_block=80)), "batcher_stalled"),
]


@pytest.mark.parametrize(("reads", "expected"), [c[1:] for c in PROPOSER], ids=[c[0] for c in PROPOSER])
def test_proposer_causes(reads: dict[str, Any], expected: str) -> None:
    decided = proposer_stuck_cause(reads, {"pods": [], "logs": []}, "0xabc", 90)
    assert decided["cause"] == expected and decided["healthy"] is (expected == "not_stuck")
    assert decided["ours"] is True  # addresses compare without case


def test_reach_from_the_exec_result() -> None:
    assert proposer_reach({}, "")["summary"] == "no Ready op-proposer pod to ask from"
    assert proposer_reach({"rc": 0, "stdout": "{}", "stderr": ""}, "p")["ok"] is True
    failed = proposer_reach({"rc": 28, "stdout": "", "stderr": "curl: (28) timed out"}, "p")
    assert not failed["ok"] and failed["summary"] == "curl exit 28: curl: (28) timed out"
    assert proposer_reach({"msg": "pod not running"}, "p")["summary"] == "exec failed: pod not running"


def test_output_recovered_needs_a_new_matching_output() -> None:
    assert output_recovered({"latest_index": 4, "mismatch": False}, 3)
    assert not output_recovered({"latest_index": 3, "mismatch": False}, 3)
    assert not output_recovered({"latest_index": 4, "mismatch": True}, 3)
    assert output_recovered({"latest_index": 0, "mismatch": False}, None)
    assert not output_recovered({"msg": "unreachable"}, 3)
