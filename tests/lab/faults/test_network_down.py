"""network-down faults: each one breaks block production as the runbook describes, and its remedy, applied by
hand with kubectl, brings blocks back (or, for bad-block, does not)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from web3 import Web3

from tests.support import LabHandle

from .helpers import (
    blocks_flow,
    blocks_stalled,
    endpoints,
    eventually,
    kubectl,
    kubectl_json,
    l2_head,
    logs,
    op_node,
    pods,
    ready_pods,
)


def newest_op_node(lab: LabHandle) -> dict[str, Any]:
    """The newest op-node pod, as `kubectl get pods -o json` shows it: of the newest ReplicaSet (a restart's new
    pod and the old one are often created within the same second, creationTimestamp's resolution)."""
    sets = kubectl_json(lab, "get", "replicasets", "-l", "app.kubernetes.io/name=op-node")["items"]
    newest = max(sets, key=lambda r: int(r["metadata"].get("annotations", {}).get(
        "deployment.kubernetes.io/revision", 0)))
    template_hash = newest["metadata"]["labels"]["pod-template-hash"]
    items = kubectl_json(lab, "get", "pods", "-l", f"app.kubernetes.io/name=op-node,pod-template-hash={template_hash}"
                         )["items"] or kubectl_json(lab, "get", "pods", "-l", "app.kubernetes.io/name=op-node")["items"]
    return dict(max(items, key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"])))


def op_node_container(lab: LabHandle) -> dict[str, Any]:
    """The newest op-node pod's container status."""
    return dict(newest_op_node(lab)["status"]["containerStatuses"][0])


def crash_looping(status: dict[str, Any]) -> bool:
    return status.get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff"


def op_node_refuses(lab: LabHandle) -> bool:
    try:
        op_node(lab, "optimism_syncStatus")
    except requests.ConnectionError:
        return True
    return False


# -- l1-rpc-down ------------------------------------------------------------------------------------------
def test_l1_rpc_down_primary_refuses_backup_answers_and_blocks_stop(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    primary, backup = endpoints(lab)["l1_rpc_urls"]
    lab.lab.break_fault("l1-rpc-down")
    with pytest.raises(requests.ConnectionError):
        Web3(Web3.HTTPProvider(primary, request_kwargs={"timeout": 3})).eth.block_number  # noqa: B018
    assert Web3(Web3.HTTPProvider(backup)).eth.block_number > 0
    eventually(lambda: logs(lab, "op-node"), lambda text: "failed to fetch L1 block" in text,
               "op-node logs 'failed to fetch L1 block'")
    blocks_stalled(lab)


def test_l1_rpc_down_pointing_op_node_at_the_backup_heals(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    backup = endpoints(lab)["l1_rpc_urls"][1]
    lab.lab.break_fault("l1-rpc-down")
    blocks_stalled(lab, watch=2)
    kubectl(lab, "set", "env", "deployment/op-node", f"OP_NODE_L1_ETH_RPC={backup}")
    kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=20s")
    blocks_flow(lab)
    assert lab.lab.status()["components"]["l1-primary"]["mode"] == "refuse"


# -- sequencer-oom ----------------------------------------------------------------------------------------
def test_sequencer_oom_crash_loops_oomkilled_with_restarts_growing(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("sequencer-oom")
    first = eventually(lambda: op_node_container(lab), crash_looping, "op-node CrashLoopBackOff")
    assert first["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert first["lastState"]["terminated"]["exitCode"] == 137
    eventually(lambda: op_node_container(lab)["restartCount"], lambda n: n > first["restartCount"],
               "op-node restarts growing")
    assert "CrashLoopBackOff" in kubectl(lab, "get", "pods", "-l", "app.kubernetes.io/name=op-node").stdout
    eventually(lambda: op_node_refuses(lab), bool, "op-node RPC refuses connections")
    blocks_stalled(lab)


def test_sequencer_oom_heals_only_with_4gi(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("sequencer-oom")
    eventually(lambda: op_node_container(lab), crash_looping, "op-node CrashLoopBackOff")
    kubectl(lab, "set", "resources", "deployment/op-node", "--limits=memory=3Gi")
    new = eventually(lambda: newest_op_node(lab), lambda pod: (
        pod["spec"]["containers"][0]["resources"]["limits"]["memory"] == "3Gi"
        and crash_looping(pod["status"]["containerStatuses"][0])), "the new 3Gi pod crash-loops as well")
    assert new["status"]["containerStatuses"][0]["lastState"]["terminated"]["reason"] == "OOMKilled"
    blocks_stalled(lab, watch=2)

    kubectl(lab, "set", "resources", "deployment/op-node", "--limits=memory=4Gi")
    kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=20s")
    assert not crash_looping(op_node_container(lab))
    blocks_flow(lab)


# -- sequencer-crash --------------------------------------------------------------------------------------
def test_sequencer_crash_crash_loops_with_an_error(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("sequencer-crash")
    status = eventually(lambda: op_node_container(lab), crash_looping, "op-node CrashLoopBackOff")
    assert status["lastState"]["terminated"]["reason"] == "Error"
    eventually(lambda: logs(lab, "op-node"), lambda text: "Application failed" in text, "op-node crash log")
    blocks_stalled(lab)


def test_sequencer_crash_heals_with_a_rollout_restart(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("sequencer-crash")
    eventually(lambda: op_node_container(lab), crash_looping, "op-node CrashLoopBackOff")
    kubectl(lab, "rollout", "restart", "deployment/op-node")
    kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=20s")
    blocks_flow(lab)
    assert not crash_looping(op_node_container(lab))


# -- restart-stuck ----------------------------------------------------------------------------------------
def test_restart_stuck_new_pod_cannot_attach_the_volume_so_a_restart_does_not_help(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("restart-stuck")
    eventually(lambda: op_node_container(lab), crash_looping, "op-node CrashLoopBackOff")
    kubectl(lab, "rollout", "restart", "deployment/op-node")
    waiting = eventually(lambda: op_node_container(lab),
                         lambda c: "attached to pod" in c.get("state", {}).get("waiting", {}).get("message", ""),
                         "the restarted pod waiting on its volume")
    assert waiting["state"]["waiting"]["reason"] == "ContainerCreating"
    assert "op-node-data" in waiting["state"]["waiting"]["message"]
    assert kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=5s", check=False).returncode != 0
    events = kubectl_json(lab, "get", "events", "--field-selector", "reason=FailedAttachVolume")["items"]
    assert any("Multi-Attach" in e["message"] for e in events)
    blocks_stalled(lab)


def test_restart_stuck_heals_by_scaling_to_0_then_1(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("restart-stuck")
    eventually(lambda: op_node_container(lab), crash_looping, "op-node CrashLoopBackOff")
    kubectl(lab, "rollout", "restart", "deployment/op-node")
    kubectl(lab, "scale", "deployment/op-node", "--replicas=0")
    eventually(lambda: pods(lab, "op-node"), lambda items: not items, "no op-node pod left")
    kubectl(lab, "scale", "deployment/op-node", "--replicas=1")
    kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=20s")
    blocks_flow(lab)


# -- bad-block --------------------------------------------------------------------------------------------
def test_bad_block_stops_the_chain_before_the_named_block(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("bad-block")
    bad = lab.lab.status()["faults"]["bad_block_at"]
    eventually(lambda: l2_head(lab), lambda head: head == bad - 1, f"L2 head stuck at {bad - 1}")
    blocks_stalled(lab, watch=2)
    eventually(lambda: logs(lab, "op-node"), lambda text: f"failed to process block {bad}: invalid block" in text,
               "op-node logs the invalid block")
    assert ready_pods(lab, "op-node"), "op-node itself stays Ready: only derivation is stuck"


def test_bad_block_is_not_healed_by_a_restart(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("bad-block")
    bad = lab.lab.status()["faults"]["bad_block_at"]
    eventually(lambda: l2_head(lab), lambda head: head == bad - 1, f"L2 head stuck at {bad - 1}")
    kubectl(lab, "rollout", "restart", "deployment/op-node")
    kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=20s")
    assert blocks_stalled(lab) == bad - 1
    eventually(lambda: logs(lab, "op-node"), lambda text: "invalid block" in text, "the new pod logs it too")


# -- node-lost --------------------------------------------------------------------------------------------
def test_node_lost_leaves_op_node_unknown_on_a_notready_node(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    node = ready_pods(lab, "op-node")[0].spec.node_name
    lab.lab.break_fault("node-lost")
    nodes = kubectl(lab, "get", "nodes").stdout
    assert any(line.split()[:2] == [node, "NotReady"] for line in nodes.splitlines()), nodes
    stuck = eventually(lambda: pods(lab, "op-node"), lambda items: [p.status.phase for p in items] == ["Unknown"],
                       "op-node pod Unknown (and no replacement)")
    assert stuck[0].status.reason == "NodeLost"
    eventually(lambda: op_node_refuses(lab), bool, "op-node RPC refuses connections")
    blocks_stalled(lab)


def test_node_lost_heals_by_deleting_the_stuck_pod(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("node-lost")
    lost = lab.lab.status()["faults"]["lost_node"]
    stuck = eventually(lambda: pods(lab, "op-node"), lambda items: [p.status.phase for p in items] == ["Unknown"],
                       "op-node pod Unknown")
    kubectl(lab, "delete", "pod", stuck[0].metadata.name, "--grace-period=0", "--force")
    new = eventually(lambda: ready_pods(lab, "op-node"), lambda items: len(items) == 1, "a new op-node pod Ready")
    assert new[0].spec.node_name != lost
    blocks_flow(lab)


# -- node-drain -------------------------------------------------------------------------------------------
def test_node_drain_evicts_op_node_whose_new_pod_no_cordoned_node_takes(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("node-drain")
    nodes = kubectl(lab, "get", "nodes").stdout
    assert all("SchedulingDisabled" in line for line in nodes.splitlines()[1:]), nodes
    pending = eventually(lambda: pods(lab, "op-node"), lambda items: [p.status.phase for p in items] == ["Pending"],
                         "op-node's replacement pod Pending (the old one evicted)")
    scheduled = next(c for c in pending[0].status.conditions if c.type == "PodScheduled")
    assert scheduled.status == "False" and scheduled.reason == "Unschedulable"
    assert "3 node(s) were unschedulable" in scheduled.message
    events = kubectl(lab, "get", "events", "--field-selector", "reason=Evicted").stdout
    assert "op-node" in events, events
    blocks_stalled(lab)


def test_node_drain_heals_by_uncordoning_one_node(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("node-drain")
    eventually(lambda: pods(lab, "op-node"), lambda items: [p.status.phase for p in items] == ["Pending"],
               "op-node Pending")
    kubectl(lab, "uncordon", "lab-node-b")
    new = eventually(lambda: ready_pods(lab, "op-node"), lambda items: len(items) == 1, "op-node Ready again")
    assert new[0].spec.node_name == "lab-node-b"
    blocks_flow(lab)


# -- pvc-corrupt ------------------------------------------------------------------------------------------
def newest_snapshot(lab: LabHandle) -> str:
    snapshots = kubectl_json(lab, "get", "volumesnapshots", "-l", "jeju.network/volume=op-node-data")["items"]
    return str(max(snapshots, key=lambda s: s["status"]["creationTime"])["metadata"]["name"])


def test_pvc_corrupt_crash_loops_with_a_checksum_error_even_after_a_restart(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("pvc-corrupt")
    eventually(lambda: op_node_container(lab), crash_looping, "op-node CrashLoopBackOff")
    eventually(lambda: logs(lab, "op-node"), lambda text: "checksum mismatch" in text, "op-node corruption log")
    blocks_stalled(lab, watch=2)
    kubectl(lab, "rollout", "restart", "deployment/op-node")
    eventually(lambda: newest_op_node(lab), lambda pod: (
        "kubectl.kubernetes.io/restartedAt" in pod["metadata"].get("annotations", {})
        and crash_looping(pod["status"]["containerStatuses"][0])), "the restarted pod crash-loops too")
    blocks_stalled(lab, watch=2)


def test_pvc_corrupt_heals_by_restoring_the_newest_snapshot(healthy_lab: LabHandle, tmp_path: Any) -> None:
    lab = healthy_lab
    lab.lab.break_fault("pvc-corrupt")
    eventually(lambda: op_node_container(lab), crash_looping, "op-node CrashLoopBackOff")
    old = kubectl_json(lab, "get", "pvc", "op-node-data")
    kubectl(lab, "scale", "deployment/op-node", "--replicas=0")
    eventually(lambda: pods(lab, "op-node"), lambda items: not items, "op-node scaled to 0")
    kubectl(lab, "delete", "pvc", "op-node-data")
    snapshot = newest_snapshot(lab)
    assert snapshot == "op-node-data-daily-2"
    manifest = tmp_path / "pvc.json"
    manifest.write_text(json.dumps({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "op-node-data", "namespace": "op-stack"},
        "spec": {**{k: old["spec"][k] for k in ("accessModes", "storageClassName", "resources")},
                 "dataSource": {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                                "name": snapshot}}}))
    kubectl(lab, "apply", "-f", str(manifest))
    restored = kubectl_json(lab, "get", "pvc", "op-node-data")
    assert restored["spec"]["dataSource"]["name"] == snapshot
    kubectl(lab, "scale", "deployment/op-node", "--replicas=1")
    kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=20s")
    blocks_flow(lab)


# -- bad-deploy (rollback) --------------------------------------------------------------------------------
def test_bad_deploy_new_release_crash_loops_while_the_old_pod_serves(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("bad-deploy")
    status = eventually(lambda: op_node_container(lab), crash_looping, "the new release's pod CrashLoopBackOff")
    assert newest_op_node(lab)["spec"]["containers"][0]["image"].endswith("-rc.broken")
    assert status["lastState"]["terminated"]["reason"] == "Error"
    assert kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=3s", check=False).returncode != 0
    history = kubectl(lab, "rollout", "history", "deployment/op-node").stdout.splitlines()
    revisions = [int(line.split()[0]) for line in history if line[:1].isdigit()]
    annotations = kubectl_json(lab, "get", "deployment/op-node")["metadata"]["annotations"]
    assert len(revisions) >= 2, "the release and a revision before it to undo to"  # the session lab's may be 3, 9...
    assert max(revisions) == int(annotations["deployment.kubernetes.io/revision"]), history
    blocks_flow(lab)  # the old pod still serves: a stalled rollout, not an outage


def test_bad_deploy_heals_with_rollout_undo(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("bad-deploy")
    eventually(lambda: op_node_container(lab), crash_looping, "the new release's pod CrashLoopBackOff")
    kubectl(lab, "rollout", "undo", "deployment/op-node")
    kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=20s")
    assert not crash_looping(op_node_container(lab))
    assert not kubectl_json(lab, "get", "deployment/op-node")["spec"]["template"]["spec"]["containers"][0][
        "image"].endswith("-rc.broken")
