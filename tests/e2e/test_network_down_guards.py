"""network-down's guard rails and hand-offs on the lab: where it must stop and hand over, or fall back.

An OOM at the memory maximum, an L1 outage with no answering backup and a corrupt volume with no ready snapshot
escalate (exit 3) and change nothing; the memory cap holds even when the cap is too low to recover (exit 1, with
what was tried); a restart that does not help falls back to the runbook's scale 0 -> 1.
"""

from __future__ import annotations

import json

import yaml

from jeju_lab.anvil import free_port
from jeju_lab.topology import OP_NODE_MEMORY_LIMIT
from tests.support import LabHandle, artifact, classification
from tests.support import kube as support_kube

from .network_down_lab import (
    L1_ENV,
    NS,
    blocks_flow,
    kube,
    network_down,
    op_node,
    op_node_env,
    op_node_pods,
    wait_for_stall,
)


def network_down_limits(lab: LabHandle, **changes: str | int) -> str:
    """The inventory's jeju_network_down with some values changed, as one `-e` (extra vars replace whole dicts)."""
    inventory = lab.project / "inventories" / "local" / "group_vars" / "all" / "vars.yml"
    limits = yaml.safe_load(inventory.read_text())["jeju_network_down"]
    return "jeju_network_down=" + json.dumps({**limits, **changes})


def test_a_restart_that_does_not_help_falls_back_to_scaling_0_then_1(nd_lab: LabHandle) -> None:
    nd_lab.lab.break_fault("restart-stuck")
    wait_for_stall(nd_lab)
    crashed = {p.metadata.name for p in op_node_pods(nd_lab)}
    done, record = network_down(nd_lab, "--yes", "-e", network_down_limits(nd_lab, rollout_wait_seconds=10))
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "crash"
    summary = json.loads((record / "summary.json").read_text())
    assert [(g["kind"], g["change"].get("replicas")) for g in summary["gates"]] == [
        ("restart", None), ("scale", 0), ("scale", 1)], summary["gates"]
    pods = op_node_pods(nd_lab)
    assert len(pods) == 1 and pods[0].metadata.name not in crashed and op_node(nd_lab).spec.replicas == 1
    assert blocks_flow(nd_lab)
    assert "scaled op-node to 0" in artifact(record, "incident-report.md")


def test_oom_at_the_memory_maximum_escalates_and_changes_nothing(nd_lab: LabHandle) -> None:
    nd_lab.lab.break_fault("sequencer-oom")
    wait_for_stall(nd_lab)
    version = op_node(nd_lab).metadata.resource_version
    done, record = network_down(nd_lab, "--yes", "-e", network_down_limits(nd_lab, memory_max=OP_NODE_MEMORY_LIMIT,
                                                                     memory_step="1Gi"))
    assert done.returncode == 3, done.stdout + done.stderr
    assert classification(record) == "out_of_memory"
    assert op_node(nd_lab).metadata.resource_version == version
    summary = json.loads((record / "summary.json").read_text())
    assert "already the maximum" in summary["message"] and summary["gates"] == []
    assert "Status: Escalated" in artifact(record, "incident-report.md")


def test_memory_is_never_raised_above_the_maximum_and_a_failed_recovery_exits_1(nd_lab: LabHandle) -> None:
    """The lab's op-node needs 4Gi; capped at 3Gi it still OOMs, so verification fails and says what was tried."""
    nd_lab.lab.break_fault("sequencer-oom")
    wait_for_stall(nd_lab)
    limits = network_down_limits(nd_lab, memory_max="3Gi", rollout_wait_seconds=5, verify_window_seconds=5)
    done, record = network_down(nd_lab, "--yes", "-e", limits)
    assert done.returncode == 1, done.stdout + done.stderr
    assert op_node(nd_lab).spec.template.spec.containers[0].resources.limits["memory"] == "3Gi"
    summary = json.loads((record / "summary.json").read_text())
    assert "memory limit" in summary["message"] and "3Gi" in summary["message"]
    assert [g["decision"] for g in summary["gates"]] == ["approved"]


def test_l1_down_without_an_answering_backup_escalates(nd_lab: LabHandle) -> None:
    primary = nd_lab.state["endpoints"]["l1_rpc_urls"][0]
    nd_lab.lab.break_fault("l1-rpc-down")
    wait_for_stall(nd_lab)
    version = op_node(nd_lab).metadata.resource_version
    dead_backup = f"http://127.0.0.1:{free_port()}"
    done, record = network_down(nd_lab, "--yes", "-e", f"jeju_l1_rpc_urls={json.dumps([primary, dead_backup])}")
    assert done.returncode == 3, done.stdout + done.stderr
    assert classification(record) == "l1_rpc_down"
    assert op_node(nd_lab).metadata.resource_version == version
    assert op_node_env(nd_lab)[L1_ENV] == primary
    assert "no backup L1 endpoint answers" in json.loads((record / "summary.json").read_text())["message"]


def test_corrupt_volume_without_a_ready_snapshot_escalates_before_scaling_down(nd_lab: LabHandle) -> None:

    api = support_kube(nd_lab).custom
    group = ("snapshot.storage.k8s.io", "v1", NS, "volumesnapshots")
    names = [s["metadata"]["name"] for s in api.list_namespaced_custom_object(*group)["items"]]
    for name in names:  # snapshots still being taken: none can be restored from
        api.patch_namespaced_custom_object_status(*group, name, {"status": {"readyToUse": False}})
    try:
        _, core = kube(nd_lab)
        pvc_uid = core.read_namespaced_persistent_volume_claim("op-node-data", NS).metadata.uid
        nd_lab.lab.break_fault("pvc-corrupt")
        wait_for_stall(nd_lab)
        done, record = network_down(nd_lab, "--yes")
        assert done.returncode == 3, done.stdout + done.stderr
        assert classification(record) == "volume_corrupt"
        assert op_node(nd_lab).spec.replicas == 1
        assert core.read_namespaced_persistent_volume_claim("op-node-data", NS).metadata.uid == pvc_uid
        assert json.loads((record / "summary.json").read_text())["gates"] == []
    finally:
        for name in names:
            api.patch_namespaced_custom_object_status(*group, name, {"status": {"readyToUse": True}})
