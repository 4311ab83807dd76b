"""jeju.ops.bridge_stalled_cause / _recovered: every stage, the ties between stages, missing data."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.jeju.ops.plugins.filter.bridge_stalled import (
    CAUSES,
    bridge_stalled_cause,
    bridge_stalled_recovered,
)

L1_ENV = "OP_NODE_L1_ETH_RPC"
PRIMARY, BACKUP, SPARE = "http://primary", "http://backup", "http://spare"
SETTINGS = {"deposit_window_blocks": 5, "endpoint_lag_blocks": 2}
THRESHOLDS = {"block_stall_seconds": 5, "batch_stall_seconds": 15, "output_stall_seconds": 90}
HEAD = 100


def endpoint(url: str, lag: int | None = 0, index: int = 0) -> dict[str, Any]:
    return {"index": index, "role": "primary" if index == 0 else "backup", "url": url, "endpoint": url,
            "ok": lag is not None, "number": None if lag is None else HEAD - lag, "lag_blocks": lag,
            "age_seconds": None if lag is None else 2.0 * lag, "error": None if lag is not None else "refused"}


def deposit(l1_block: int, included: bool | None = True) -> dict[str, Any]:
    return {"l1_block": l1_block, "l1_tx_hash": f"0xl1{l1_block}", "l2_tx_hash": f"0xl2{l1_block}",
            "age_blocks": HEAD - l1_block, "due": HEAD - l1_block >= 5, "included": included,
            "l2_block": 7 if included else None, "from": "0xa", "to": "0xb", "mint_wei": "1"}


def pipeline(*, l1_lags: tuple[int | None, ...] = (0, 0), head_l1: int = 0, current_l1: int = 0, origin: int = 0,
             op_node_up: bool = True, unsafe_age: float = 1.0, safe_gap: int = 6, output_age: int | None = 20,
             portal_paused: bool = False, config_paused: bool = False, l2_ok: bool = True,
             deposits: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    urls = (PRIMARY, BACKUP, SPARE)
    endpoints = [endpoint(urls[i], lag, i) for i, lag in enumerate(l1_lags)]
    l1_ok = any(e["ok"] for e in endpoints)
    found = [deposit(90), deposit(97)] if deposits is None else deposits
    missing = [d for d in found if d["due"] and d["included"] is False]
    return {
        "l1": {"ok": l1_ok, "head": HEAD if l1_ok else None, "age_seconds": 1.0, "endpoint": BACKUP,
               "endpoints": endpoints, "error": None if l1_ok else "every endpoint refused"},
        "op_node": {"reachable": op_node_up, "error": None if op_node_up else "connection refused",
                    "head_l1": {"number": HEAD - head_l1}, "current_l1": {"number": HEAD - current_l1},
                    "unsafe_l2": {"number": 500, "timestamp": 10_000, "age_seconds": unsafe_age,
                                  "l1_origin": HEAD - origin},
                    "safe_l2": {"number": 500 - safe_gap, "timestamp": 10_000 - safe_gap, "age_seconds": 7.0},
                    "finalized_l2": {"number": 480, "timestamp": 9_980, "age_seconds": 21.0},
                    "lag_blocks": {"head_l1": head_l1, "current_l1": current_l1, "unsafe_l1_origin": origin}}
        if op_node_up else {"reachable": False, "error": "connection refused"},
        "deposits": found,
        "window": {"from_block": 41, "to_block": HEAD, "window_blocks": 5, "seen": len(found),
                   "included": sum(1 for d in found if d["included"]), "due": sum(1 for d in found if d["due"]),
                   "missing": len(missing), "oldest_missing": missing[0] if missing else None},
        "paused": {"portal": portal_paused, "superchain_config": config_paused, "guardian": "0xSafe"},
        "l2": {"ok": l2_ok, "error": None if l2_ok else "refused"},
        "oracle": {"proposed": output_age is not None, "age_seconds": output_age, "latest_index": 3,
                   "latest_output": {"l2_block_number": 490}} if output_age is not None else {"proposed": False},
        **extra,
    }


FROZEN = [{"data": {"state": "frozen", "frozen_by": "alice", "frozen_at": "t", "run_id": "r", "reason": "breach"}}]
LIFTED = [{"data": {"state": "lifted", "frozen_by": "alice"}}]


def reads(pipe: dict[str, Any], freeze: list[dict[str, Any]] | None = None, l1_url: str = PRIMARY) -> dict[str, Any]:
    return {"pipeline": pipe, "freeze": freeze or [],
            "op_node": {"deployment": {"container": "op-node", "env": {L1_ENV: l1_url}}}}


CASES = [
    # (id, reads, expected cause)
    ("everything flows", reads(pipeline()), "flowing"),
    ("a lifted freeze is no freeze", reads(pipeline(), LIFTED), "flowing"),
    ("a deposit not due yet is not missing", reads(pipeline(deposits=[deposit(98, included=False)])), "flowing"),
    ("a freeze explains a pause", reads(pipeline(portal_paused=True), FROZEN), "frozen"),
    ("a freeze explains stopped components too", reads(pipeline(op_node_up=False), FROZEN), "frozen"),
    ("portal paused, no freeze", reads(pipeline(portal_paused=True)), "paused"),
    ("SuperchainConfig paused, no freeze", reads(pipeline(config_paused=True)), "paused"),
    ("a pause wins over a halted chain", reads(pipeline(portal_paused=True, op_node_up=False)), "paused"),
    ("no L1 endpoint answers", reads(pipeline(l1_lags=(None, None))), "l1_down"),
    ("op-node does not answer", reads(pipeline(op_node_up=False)), "chain_halted"),
    ("the unsafe head stopped", reads(pipeline(unsafe_age=30.0)), "chain_halted"),
    ("a halted chain wins over a stale L1", reads(pipeline(unsafe_age=30.0, head_l1=20)), "chain_halted"),
    ("op-node's L1 view lags", reads(pipeline(l1_lags=(20, 0), head_l1=20, current_l1=20, origin=20,
                                              deposits=[deposit(85, included=False)])), "l1_stale"),
    ("a stale L1 wins over the safe head stall it causes", reads(pipeline(head_l1=20, current_l1=20, origin=20,
                                                                          safe_gap=60, output_age=500)), "l1_stale"),
    ("a lag of exactly the window is not a stall", reads(pipeline(head_l1=5, current_l1=5, origin=5)), "flowing"),
    ("derivation lags a current L1 view", reads(pipeline(current_l1=12)), "derivation_stalled"),
    ("the L1 origin lags a current L1 view", reads(pipeline(origin=12)), "derivation_stalled"),
    ("due deposits missing although the origin passed them",
     reads(pipeline(deposits=[deposit(90, included=False)])), "deposits_dropped"),
    ("the safe head stalls", reads(pipeline(safe_gap=40)), "batches_stalled"),
    ("a safe-head stall wins over overdue outputs", reads(pipeline(safe_gap=40, output_age=500)), "batches_stalled"),
    ("outputs overdue", reads(pipeline(output_age=500)), "outputs_stalled"),
    ("no output proposed at all", reads(pipeline(output_age=None)), "outputs_stalled"),
    ("an unreadable oracle is no stall", reads(pipeline(oracle={"error": "no contract"})), "flowing"),
    ("no oracle configured", reads(pipeline(oracle=None)), "flowing"),
    ("L2 does not answer", reads(pipeline(l2_ok=False, deposits=[deposit(90, included=None)])), "l2_unreadable"),
    ("nothing read at all (the module failed)", {"pipeline": {"failed": True, "msg": "bad args"}}, "l1_down"),
]


@pytest.mark.parametrize(("reads_", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_stage_and_its_sentence(reads_: dict[str, Any], expected: str) -> None:
    decided = bridge_stalled_cause(reads_, SETTINGS, THRESHOLDS, L1_ENV)
    assert decided["cause"] == expected
    assert decided["cause_text"] == CAUSES[expected]
    assert decided["healthy"] is (expected in ("flowing", "frozen"))
    assert set(decided["evidence"]) >= {"l1_head", "op_node_l1", "deposits", "paused", "security_freeze"}


def test_the_l1_switch_gets_the_first_current_endpoint_that_is_not_op_nodes() -> None:
    stale = pipeline(l1_lags=(20, 3, 1), head_l1=20, current_l1=20, origin=20)
    decided = bridge_stalled_cause(reads(stale), SETTINGS, THRESHOLDS, L1_ENV)
    assert decided["cause"] == "l1_stale"
    assert (decided["container"], decided["l1_url_before"]) == ("op-node", PRIMARY)
    assert decided["l1_backup"] == SPARE  # the backup is 3 blocks behind: beyond endpoint_lag_blocks (2)
    on_backup = bridge_stalled_cause(reads(pipeline(l1_lags=(0, 20), head_l1=20), l1_url=BACKUP), SETTINGS,
                                     THRESHOLDS, L1_ENV)
    assert on_backup["l1_backup"] == PRIMARY  # op-node's own endpoint is never the one it is switched to
    nothing = bridge_stalled_cause(reads(pipeline(l1_lags=(20, 20), head_l1=20)), SETTINGS, THRESHOLDS, L1_ENV)
    assert nothing["l1_backup"] == ""  # no current endpoint: the L1 switch escalates


def test_the_evidence_names_the_missing_deposits_and_the_freeze() -> None:
    decided = bridge_stalled_cause(reads(pipeline(deposits=[deposit(80, included=False), deposit(99)])),
                                   SETTINGS, THRESHOLDS, L1_ENV)
    assert decided["missing_deposits"] == 1
    assert decided["evidence"]["missing_deposits"][0]["l2_tx_hash"] == "0xl280"
    assert "oldest missing: L1 block 80" in decided["evidence"]["deposits"]
    frozen = bridge_stalled_cause(reads(pipeline(portal_paused=True), FROZEN), SETTINGS, THRESHOLDS, L1_ENV)
    assert frozen["evidence"]["security_freeze"].startswith("frozen by alice")
    assert frozen["freeze"]["run_id"] == "r"


def test_missing_data_gives_empty_facts_not_errors() -> None:
    decided = bridge_stalled_cause({}, SETTINGS, THRESHOLDS, L1_ENV)
    assert decided["cause"] == "l1_down"
    assert decided["container"] == "" and decided["l1_url_before"] == "" and decided["l1_backup"] == ""
    assert decided["l1_head"] is None and decided["missing_deposits"] == 0 and decided["l1_fresh_url"] == ""
    assert decided["evidence"]["deposits"].startswith("not read")


RECOVERY = [
    # (id, deposits, origin lag, op-node up, ok, included, quiet)
    ("a new deposit on L2, origin following", [deposit(96)], 1, True, True, True, False),
    ("a new deposit not on L2 yet", [deposit(96, included=False)], 1, True, False, False, False),
    ("only old deposits on L2", [deposit(90)], 1, True, False, False, True),
    ("a new deposit on L2 but the origin lags again", [deposit(96)], 9, True, False, True, False),
    ("nobody deposited, origin following", [], 0, True, False, False, True),
    ("nobody deposited, origin lagging", [], 9, True, False, False, False),
    ("op-node down", [deposit(96)], 0, False, False, True, False),
]


@pytest.mark.parametrize(("found", "lag", "up", "ok", "included", "quiet"), [c[1:] for c in RECOVERY],
                         ids=[c[0] for c in RECOVERY])
def test_recovery_needs_a_deposit_made_after_the_fix_on_l2_and_the_origin_following(
        found: list[dict[str, Any]], lag: int, up: bool, ok: bool, included: bool, quiet: bool) -> None:
    after = pipeline(deposits=found, origin=lag, op_node_up=up)
    judged = bridge_stalled_recovered(after, 95, SETTINGS)
    assert (judged["ok"], judged["included"], judged["quiet"]) == (ok, included, quiet)
    if ok:
        assert "0xl196" in judged["proof"] and "L2 block 7" in judged["proof"]
    else:
        assert "since L1 block 95" in judged["failure"]


def test_recovery_without_any_read_fails_quietly() -> None:
    judged = bridge_stalled_recovered(None, None, SETTINGS)
    assert not judged["ok"] and not judged["quiet"] and "unknown" in judged["failure"]


@pytest.mark.parametrize(("cause", "stalled", "still"), [
    ("batches_stalled", {"safe_gap": 40}, "the safe head is still 40 s behind"),
    ("outputs_stalled", {"output_age": 500}, "the latest output is still 500 s old"),
    ("outputs_stalled", {"output_age": None}, "still no output proposed"),
], ids=["safe head still behind", "output still overdue", "still no output"])
def test_recovery_also_needs_the_stalled_stage_to_follow(cause: str, stalled: dict[str, Any], still: str) -> None:
    judged = bridge_stalled_recovered(pipeline(deposits=[deposit(96)], **stalled), 95, SETTINGS, THRESHOLDS, cause)
    assert not judged["ok"] and judged["included"] and not judged["quiet"]
    assert still in judged["failure"]
    recovered = bridge_stalled_recovered(pipeline(deposits=[deposit(96)]), 95, SETTINGS, THRESHOLDS, cause)
    assert recovered["ok"]
    other = bridge_stalled_recovered(pipeline(deposits=[deposit(96)], **stalled), 95, SETTINGS, THRESHOLDS, "l1_stale")
    assert other["ok"]  # another stage's recovery does not wait for this one
