"""network-down end to end: break the lab, run the real `jeju-play network-down`, assert on the lab afterwards.

Each test waits for the fault's symptom (the L2 head goes stale) before running the playbook, then checks the
chain, the Kubernetes objects and the run record; never the playbook's own words. After each test the op-node
Deployment is put back as the lab started it (L1 URL, memory limit, one replica), so tests do not depend on
their order. The real `jeju-play drill` (which restarts the lab) runs last.
The guard rails and hand-offs (escalations, caps, the crash fallback) are in test_network_down_guards.py.
"""

from __future__ import annotations

import json

import yaml

from tests.support import LabHandle, artifact, classification, run_cli

from .network_down_lab import (
    L1_ENV,
    NS,
    OP_NODE_DATA_PVC,
    blocks_flow,
    data_claim,
    kube,
    l2_head,
    network_down,
    op_node,
    op_node_env,
    op_node_pods,
    wait_for_stall,
)


def test_healthy_lab_is_not_down_and_nothing_changes(nd_lab: LabHandle) -> None:
    version = op_node(nd_lab).metadata.resource_version
    done, record = network_down(nd_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "not_down"
    assert op_node(nd_lab).metadata.resource_version == version
    assert json.loads((record / "summary.json").read_text())["gates"] == []


def test_l1_rpc_down_check_then_refused_then_fixed(nd_lab: LabHandle) -> None:
    primary, backup = nd_lab.state["endpoints"]["l1_rpc_urls"][:2]
    nd_lab.lab.break_fault("l1-rpc-down")
    head = wait_for_stall(nd_lab)
    version = op_node(nd_lab).metadata.resource_version
    pods = [p.metadata.name for p in op_node_pods(nd_lab)]

    checked, record = network_down(nd_lab, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert classification(record) == "l1_rpc_down"
    assert "would ask" in checked.stdout and L1_ENV in checked.stdout
    assert op_node(nd_lab).metadata.resource_version == version
    assert [p.metadata.name for p in op_node_pods(nd_lab)] == pods
    assert l2_head(nd_lab)[0] == head  # the chain did not move: nothing was fixed

    refused, _ = network_down(nd_lab, "-e", "jeju_gate_timeout_seconds=1")
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert op_node(nd_lab).metadata.resource_version == version
    assert op_node_env(nd_lab)[L1_ENV] == primary

    fixed, record = network_down(nd_lab, "--yes")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert op_node_env(nd_lab)[L1_ENV] == backup
    assert blocks_flow(nd_lab)
    drift = yaml.safe_load(artifact(record, "drift.yml"))["drift"]
    assert [(d["file"], d["key"], d["was"], d["live"]) for d in drift] == [
        ("op-node/values.yaml", "l1RpcUrl", primary, backup)]
    report = artifact(record, "incident-report.md")
    assert "INCIDENT REPORT - Network Down" in report and "Status: Resolved" in report
    assert "Time Detected: 20" in report and "Root cause identified" in report and "Network recovering" in report


def test_sequencer_oom_raises_the_memory_limit(nd_lab: LabHandle) -> None:
    nd_lab.lab.break_fault("sequencer-oom")
    wait_for_stall(nd_lab)
    done, record = network_down(nd_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert op_node(nd_lab).spec.template.spec.containers[0].resources.limits["memory"] == "4Gi"
    assert all(p.status.container_statuses[0].restart_count == 0 for p in op_node_pods(nd_lab))
    assert blocks_flow(nd_lab)
    drift = yaml.safe_load(artifact(record, "drift.yml"))["drift"]
    assert [(d["key"], d["was"], d["live"]) for d in drift] == [("resources.limits.memory", "2Gi", "4Gi")]


def test_sequencer_crash_is_restarted(nd_lab: LabHandle) -> None:
    nd_lab.lab.break_fault("sequencer-crash")
    wait_for_stall(nd_lab)
    crashed = {p.metadata.name for p in op_node_pods(nd_lab)}
    done, record = network_down(nd_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "crash"
    assert crashed.isdisjoint(p.metadata.name for p in op_node_pods(nd_lab))
    assert "kubectl.kubernetes.io/restartedAt" in (op_node(nd_lab).spec.template.metadata.annotations or {})
    assert blocks_flow(nd_lab)


def test_node_lost_pod_is_rescheduled_on_a_ready_node(nd_lab: LabHandle) -> None:
    nd_lab.lab.break_fault("node-lost")
    wait_for_stall(nd_lab)
    lost = nd_lab.lab.status()["faults"]["lost_node"]
    done, record = network_down(nd_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "node_lost"
    pods = op_node_pods(nd_lab)
    assert len(pods) == 1 and pods[0].spec.node_name != lost and pods[0].status.phase == "Running"
    assert blocks_flow(nd_lab)


def test_node_drain_uncordons_one_node_and_op_node_runs_there(nd_lab: LabHandle) -> None:
    nd_lab.lab.break_fault("node-drain")
    wait_for_stall(nd_lab)
    done, record = network_down(nd_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "unschedulable"
    nodes = {n.metadata.name: bool(n.spec.unschedulable) for n in kube(nd_lab)[1].list_node().items}
    assert sorted(n for n, cordoned in nodes.items() if not cordoned) == ["lab-node-a"], nodes  # one, no more
    pods = op_node_pods(nd_lab)
    assert len(pods) == 1 and pods[0].spec.node_name == "lab-node-a" and pods[0].status.phase == "Running"
    assert blocks_flow(nd_lab)
    gates = [json.loads(line) for line in (record / "approvals.jsonl").read_text().splitlines()]
    assert [(g["kind"], g["target"], g["decision"]) for g in gates] == [("patch", "node/lab-node-a", "approved")]


def test_pvc_corrupt_is_restored_from_the_newest_snapshot_into_a_new_pvc(nd_lab: LabHandle) -> None:
    _, core = kube(nd_lab)
    old_uid = core.read_namespaced_persistent_volume_claim(OP_NODE_DATA_PVC, NS).metadata.uid
    nd_lab.lab.break_fault("pvc-corrupt")
    wait_for_stall(nd_lab)
    done, record = network_down(nd_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "volume_corrupt"
    claim = data_claim(nd_lab)
    assert claim.startswith(f"{OP_NODE_DATA_PVC}-restored-")
    restored = core.read_namespaced_persistent_volume_claim(claim, NS)
    assert restored.spec.data_source.name == "op-node-data-daily-2"  # the newest (lab supervisor: snapshot_times)
    kept = core.read_namespaced_persistent_volume_claim(OP_NODE_DATA_PVC, NS)
    assert kept.metadata.uid == old_uid  # the corrupt volume is kept for the post-mortem
    assert op_node(nd_lab).spec.replicas == 1
    assert blocks_flow(nd_lab)
    drift = artifact(record, "drift.yml")
    assert "persistence.existingClaim" in drift and claim in drift


def test_bad_block_escalates_and_changes_nothing(nd_lab: LabHandle) -> None:
    nd_lab.lab.break_fault("bad-block")
    head = wait_for_stall(nd_lab)
    version = op_node(nd_lab).metadata.resource_version
    done, record = network_down(nd_lab, "--yes")
    assert done.returncode == 3, done.stdout + done.stderr
    assert classification(record) == "bad_block"
    assert op_node(nd_lab).metadata.resource_version == version
    summary = json.loads((record / "summary.json").read_text())
    assert str(head + 1) in summary["message"] and summary["gates"] == []
    report = artifact(record, "incident-report.md")
    assert "Status: Escalated" in report and "OP Stack team" in report


def test_drill_l1_rpc_down_recovers(lab: LabHandle) -> None:
    """The real `jeju-play drill` (fresh lab, break, settle, run, check from outside). Restarts the lab: last."""
    done = run_cli("drill", "network-down", "--fault", "l1-rpc-down", "--json", timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout[done.stdout.index("{"):])
    assert report["recovered"] is True and report["run_exit_code"] == 0
