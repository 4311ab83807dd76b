"""jeju.ops.data_corruption_cause, restored_pvc_name and data_corruption_recovery."""

from __future__ import annotations

from typing import Any

from ansible_collections.jeju.ops.plugins.filter.data_corruption import (
    data_corruption_cause,
    data_corruption_recovery,
    restored_pvc_name,
)

DEPLOYMENTS = {"op_node": "op-node", "reth": "reth"}
RETH_LOG = 'level=error msg="Database error" err="MDBX_CORRUPTED: Database is corrupted"'
OP_NODE_LOG = 'lvl=crit msg="leveldb/table: corruption on data-block (pos=48213): checksum mismatch"'


def triage(name: str, ready: bool = True, logs: list[str] | None = None, claim: str = "",
           snapshots: list[dict[str, Any]] | None = None, replicas: int = 1) -> dict[str, Any]:
    claim = claim or f"{name}-data"
    pod = {"name": f"{name}-1", "ready": ready, "restarts": 0 if ready else 5,
           "last_terminated_reason": "" if ready else "Error"}
    return {"deployment": {"name": name, "replicas": replicas, "claims": [claim], "volumes": {"data": claim}},
            "pods": [pod], "ready_pods": int(ready), "logs": logs or [],
            "snapshots": snapshots if snapshots is not None else [
                {"name": f"{name}-data-daily-2", "pvc": f"{name}-data", "ready": True},
                {"name": f"{name}-data-daily-1", "pvc": f"{name}-data", "ready": True}]}


def test_healthy_components_are_not_corrupt() -> None:
    decided = data_corruption_cause({"op_node": triage("op-node"), "reth": triage("reth")}, DEPLOYMENTS)
    assert decided["cause"] == "not_corrupt" and decided["healthy"] is True and decided["component"] == ""


def test_a_corruption_line_on_a_ready_pod_is_not_a_corrupt_volume() -> None:
    """A log line alone (an old line, a recovered read) is not enough: the pods must also be down."""
    decided = data_corruption_cause({"op_node": triage("op-node"), "reth": triage("reth", logs=[RETH_LOG])},
                                    DEPLOYMENTS)
    assert decided["cause"] == "not_corrupt"


def test_reth_crash_looping_on_mdbx_corruption_restores_its_newest_ready_snapshot() -> None:
    decided = data_corruption_cause(
        {"op_node": triage("op-node"), "reth": triage("reth", ready=False, logs=[RETH_LOG], replicas=2)},
        DEPLOYMENTS)
    assert decided["cause"] == "reth_volume" and not decided["healthy"]
    assert (decided["deployment"], decided["volume"], decided["pvc"], decided["snapshot"], decided["replicas"]) == (
        "reth", "data", "reth-data", "reth-data-daily-2", 2)
    assert decided["evidence"]["reth"]["corruption_lines"] == [RETH_LOG]


def test_op_node_checksum_mismatch_is_op_nodes_volume() -> None:
    decided = data_corruption_cause(
        {"op_node": triage("op-node", ready=False, logs=[OP_NODE_LOG]), "reth": triage("reth")}, DEPLOYMENTS)
    assert decided["cause"] == "op_node_volume" and decided["deployment"] == "op-node"


def test_no_ready_snapshot_is_its_own_cause_naming_the_claim() -> None:
    taking = [{"name": "reth-data-daily-2", "pvc": "reth-data", "ready": False}]
    decided = data_corruption_cause(
        {"op_node": triage("op-node"), "reth": triage("reth", ready=False, logs=[RETH_LOG], snapshots=taking)},
        DEPLOYMENTS)
    assert decided["cause"] == "no_snapshot" and decided["snapshot"] == ""
    assert "reth: reth-data" in decided["cause_text"]


def test_a_restored_claim_restores_from_the_snapshots_of_the_claim_it_replaced() -> None:
    """k8s_triage lists the replaced claim's snapshots for a restored claim; their pvc is the old name."""
    decided = data_corruption_cause(
        {"op_node": triage("op-node"),
         "reth": triage("reth", ready=False, logs=[RETH_LOG], claim="reth-data-restored-20261201t100000z")},
        DEPLOYMENTS)
    assert decided["cause"] == "reth_volume" and decided["snapshot"] == "reth-data-daily-2"


def test_restored_pvc_name_is_a_valid_name_and_does_not_pile_up_suffixes() -> None:
    assert restored_pvc_name("op-node-data", "2026-12-01T13:51:14Z") == "op-node-data-restored-20261201t135114z"
    again = restored_pvc_name("op-node-data-restored-20261201t135114z", "2026-12-02T00:00:00Z")
    assert again == "op-node-data-restored-20261202t000000z"
    assert len(restored_pvc_name("x" * 300, "2026-12-01T00:00:00Z")) <= 253


def test_recovery_of_reth_needs_ready_pods_and_the_head_caught_up() -> None:
    ready = triage("reth")
    assert data_corruption_recovery({"triage": ready, "head": {"number": 99},
                                     "op_node": {"unsafe_l2_number": 100}}, "reth", 2)["ok"]
    behind = data_corruption_recovery({"triage": ready, "head": {"number": 90},
                                       "op_node": {"unsafe_l2_number": 100}}, "reth", 2)
    assert not behind["ok"] and "reth at block 90" in behind["failure"]
    down = data_corruption_recovery({"triage": triage("reth", ready=False), "head": {},
                                     "op_node": {"unsafe_l2_number": 100}}, "reth", 2)
    assert not down["ok"] and "pods Ready 0/1" in down["failure"]


def test_recovery_of_op_node_needs_new_blocks() -> None:
    flowing = {"blocks_ok": True, "blocks_advanced": 3, "waited_seconds": 2.0}
    assert data_corruption_recovery({"triage": triage("op-node"), "chain": flowing}, "op_node")["ok"]
    stalled = {"blocks_ok": False, "blocks_advanced": 0, "waited_seconds": 30.0}
    result = data_corruption_recovery({"triage": triage("op-node"), "chain": stalled}, "op_node")
    assert not result["ok"] and "0 new L2 block(s) in 30.0 s" in result["failure"]
