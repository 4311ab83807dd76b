"""jeju.ops.network_down_cause / _new_restarts / _recovery: every cause, the ties between them, missing data."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.jeju.ops.plugins.filter.network_down import (
    CAUSES,
    network_down_cause,
    network_down_new_restarts,
    network_down_recovery,
)

L1_ENV = "OP_NODE_L1_ETH_RPC"
CORDONED = ("0/3 nodes are available: 3 node(s) were unschedulable. preemption: 0/3 nodes are available: "
            "3 Preemption is not helpful for scheduling.")


def probe(stalled: bool = True, primary_ok: bool = True, backups: list[str] | None = None) -> dict[str, Any]:
    return {"l2": {"number": 10, "age_seconds": 30.0 if stalled else 1.0, "stalled": stalled, "stall_seconds": 5.0},
            "op_node": {"reachable": True, "unsafe_l2_number": 10, "safe_l2_number": 8},
            "l1": [{"role": "primary", "error": None if primary_ok else "unreachable"},
                   {"role": "backup", "error": None}],
            "l1_primary_ok": primary_ok, "l1_healthy_backups": ["http://backup"] if backups is None else backups}


def pod(name: str = "op-node-a", ready: bool = True, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ready": ready, "phase": "Running", "restarts": 0, "node": "n1", "node_ready": True,
            "last_terminated_reason": "", **extra}


def triage(pods: list[dict[str, Any]] | None = None, logs: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    pods = [pod()] if pods is None else pods
    return {"pods": pods, "ready_pods": sum(1 for p in pods if p["ready"]), "logs": logs or [],
            "deployment": {"container": "op-node", "env": {L1_ENV: "http://primary"}, "claims": ["op-node-data"]},
            "snapshots": [{"name": "snap-new", "ready": True}, {"name": "snap-old", "ready": True}],
            "pvcs": [{"name": "op-node-data", "phase": "Bound"}], "not_ready_nodes": [], "stranded_pods": [], **extra}


CASES = [
    # (id, probe, triage, expected cause)
    ("fresh and ready", probe(stalled=False), triage(), "not_down"),
    ("fresh but a recent failure in the logs", probe(stalled=False), triage(logs=["lvl=crit msg=boom"]), "crash"),
    ("stuck on a lost node", probe(), triage([pod(node_ready=False, ready=False)]), "node_lost"),
    ("phase Unknown", probe(), triage([pod(phase="Unknown", ready=False)]), "node_lost"),
    ("lost node wins over OOM", probe(), triage([pod(node_ready=False, last_terminated_reason="OOMKilled")]),
     "node_lost"),
    ("drained, the new pod Pending on cordoned nodes", probe(),
     triage([pod(ready=False, phase="Pending", node="", unschedulable=CORDONED)]), "unschedulable"),
    ("unschedulable wins over an old OOM", probe(),
     triage([pod(ready=False, phase="Pending", unschedulable=CORDONED, last_terminated_reason="OOMKilled")]),
     "unschedulable"),
    ("a Pending pod while another is Ready is not the outage", probe(),
     triage([pod("op-node-a"), pod("op-node-b", ready=False, phase="Pending", unschedulable=CORDONED)]), "crash"),
    ("OOMKilled", probe(), triage([pod(ready=False, last_terminated_reason="OOMKilled")]), "out_of_memory"),
    ("OOM wins over corruption", probe(),
     triage([pod(ready=False, last_terminated_reason="OOMKilled")], logs=["corruption in db"]), "out_of_memory"),
    ("corrupt volume, no ready pod", probe(), triage([pod(ready=False)], logs=["database corruption"]),
     "volume_corrupt"),
    ("corruption words with a ready pod are not a corrupt volume", probe(), triage(logs=["corruption"]), "crash"),
    ("invalid block with a ready pod", probe(), triage(logs=["failed to process block 42: invalid block"]),
     "bad_block"),
    ("L1 down with fetch errors", probe(primary_ok=False), triage(logs=["failed to fetch L1 block"]), "l1_rpc_down"),
    ("L1 down but no fetch errors", probe(primary_ok=False), triage(), "crash"),
    ("nothing known", probe(), triage([pod(ready=False)]), "crash"),
    ("no pods at all", probe(), triage([]), "crash"),
]


@pytest.mark.parametrize(("probe_", "triage_", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_cause_and_its_sentence(probe_: dict[str, Any], triage_: dict[str, Any], expected: str) -> None:
    decided = network_down_cause(probe_, triage_, L1_ENV)
    assert decided["cause"] == expected
    assert decided["cause_text"] == CAUSES[expected]
    assert decided["healthy"] is (expected == "not_down")


def test_the_facts_the_fixes_need() -> None:
    decided = network_down_cause(probe(primary_ok=False), triage(
        [pod("op-node-a", restarts=3), pod("op-node-b", ready=False, node_ready=False)],
        logs=["failed to process block 77: invalid block"], stranded_pods=[{"name": "reth-x"}]), L1_ENV)
    assert decided["l1_url_before"] == "http://primary" and decided["l1_backup"] == "http://backup"
    assert decided["stuck_pods"] == ["op-node-b", "reth-x"]
    assert decided["data_pvc"] == "op-node-data" and decided["newest_snapshot"] == "snap-new"
    assert decided["restarts_at_diagnosis"] == {"op-node-a": 3, "op-node-b": 0}
    assert decided["bad_block"] == "77"
    assert decided["evidence"]["l1_endpoints"] == ["primary: unreachable", "backup: answers"]


def nodes(*spec: tuple[str, bool, bool]) -> list[dict[str, Any]]:
    return [{"name": name, "ready": ready, "cordoned": cordoned} for name, ready, cordoned in spec]


@pytest.mark.parametrize(("message", "listed", "expected"), [
    (CORDONED, nodes(("n1", True, True), ("n2", True, True)), "n1"),
    (CORDONED, nodes(("n1", False, True), ("n2", True, True), ("n3", True, False)), "n2"),
    (CORDONED, nodes(("n1", False, True)), ""),  # the only cordoned node is NotReady: uncordoning it gives nothing
    ("0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: l1}.", nodes(("n1", True, True)), ""),
    ("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.", nodes(("n1", True, False)),
     ""),
], ids=["first of the cordoned", "a Ready one", "none Ready", "taints are not a cordon", "affinity"])
def test_the_node_to_uncordon_only_when_a_cordon_is_all_that_stops_the_pod(
        message: str, listed: list[dict[str, Any]], expected: str) -> None:
    decided = network_down_cause(probe(), triage([pod(ready=False, phase="Pending", node="", unschedulable=message)],
                                                 nodes=listed, cordoned_nodes=[n["name"] for n in listed
                                                                               if n["cordoned"]]), L1_ENV)
    assert decided["cause"] == "unschedulable"
    assert decided["uncordon_node"] == expected
    assert decided["evidence"]["scheduling"] == [message.split(" preemption:", maxsplit=1)[0]]


def test_missing_data_gives_empty_facts_not_errors() -> None:
    decided = network_down_cause(probe(backups=[]), {"pods": [], "logs": None}, L1_ENV)
    assert decided["l1_backup"] == "" and decided["data_pvc"] == "" and decided["newest_snapshot"] == ""
    assert decided["bad_block"] == "unknown"


def test_new_restarts_are_only_those_since_the_diagnosis() -> None:
    after = triage([pod("old", restarts=3), pod("older", restarts=5), pod("new", restarts=1), pod("fresh")])
    assert network_down_new_restarts(after, {"old": 3, "older": 4}) == ["older", "new"]


def test_recovery_needs_blocks_sequencer_ready_pods_and_no_new_restart() -> None:
    settings = {"verify_blocks": 3, "verify_window_seconds": 20}
    verify = {"blocks_ok": True, "blocks_advanced": 4, "waited_seconds": 3.5, "sequencer_active": True}
    good = network_down_recovery(verify, triage(), {"restarts_at_diagnosis": {}}, settings)
    assert good["ok"] and good["proof"] == "4 new L2 blocks in 3.5 s, op-node Ready, sequencer active"
    slow = network_down_recovery({**verify, "blocks_ok": False, "blocks_advanced": 1}, triage([pod(ready=False)]),
                                 {"restarts_at_diagnosis": {}}, settings)
    assert not slow["ok"]
    assert "1 new L2 block(s) in 3.5 s (need 3 within 20 s)" in slow["failure"]
    assert "op-node pods Ready 0/1" in slow["failure"]
