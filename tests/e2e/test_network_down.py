"""network-down end to end: break the lab, run the real `jeju-play network-down`, assert on the lab afterwards.

Each test waits for the fault's symptom (the L2 head goes stale) before running the playbook, then checks the
chain, the Kubernetes objects and the run record; never the playbook's own words. After each test the op-node
Deployment is put back as the lab started it (L1 URL, memory limit, one replica), so tests do not depend on
their order. The real `jeju-play drill` (which restarts the lab) runs last.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jeju_play.lab.anvil import free_port, rpc_call
from jeju_play.lab.topology import OP_NODE_MEMORY_LIMIT
from tests.support import LabHandle, artifact, classification, run_cli, run_incident

NS = "op-stack"
L1_ENV = "OP_NODE_L1_ETH_RPC"
STALL_SECONDS = 5  # inventories/local: jeju_thresholds.block_stall_seconds


def kube(lab: LabHandle) -> Any:
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=lab.kubeconfig, context="jeju-lab")
    return client.AppsV1Api(api), client.CoreV1Api(api)


def op_node(lab: LabHandle) -> Any:
    return kube(lab)[0].read_namespaced_deployment("op-node", NS)


def op_node_env(lab: LabHandle) -> dict[str, str]:
    return {e.name: e.value for e in op_node(lab).spec.template.spec.containers[0].env}


def op_node_pods(lab: LabHandle) -> list[Any]:
    pods = kube(lab)[1].list_namespaced_pod(NS, label_selector="app.kubernetes.io/name=op-node").items
    return sorted(pods, key=lambda p: p.metadata.name)


def l2_head(lab: LabHandle) -> tuple[int, int]:
    block = rpc_call(lab.state["endpoints"]["l2_anvil"], "eth_getBlockByNumber", ["latest", False])
    return int(block["number"], 16), int(block["timestamp"], 16)


def wait_until(predicate: Any, what: str, limit: float = 40.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"the lab never reached: {what}")
        time.sleep(0.5)


def wait_for_stall(lab: LabHandle) -> int:
    """The fault's symptom: no new L2 block for longer than the inventory's stall threshold."""
    wait_until(lambda: time.time() - l2_head(lab)[1] > STALL_SECONDS + 0.5, "a stalled L2 head")
    return l2_head(lab)[0]


def blocks_flow(lab: LabHandle, count: int = 2) -> bool:
    start = l2_head(lab)[0]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if l2_head(lab)[0] >= start + count:
            return True
        time.sleep(0.5)
    return False


def reset_op_node(lab: LabHandle) -> None:
    """Put op-node back as the lab started it: primary L1 URL, the seeded memory limit, one Ready replica."""
    apps, _ = kube(lab)
    primary = lab.state["endpoints"]["l1_rpc_urls"][0]
    container = op_node(lab).spec.template.spec.containers[0]
    patch: dict[str, Any] = {"spec": {"replicas": 1}}
    if op_node_env(lab).get(L1_ENV) != primary or container.resources.limits["memory"] != OP_NODE_MEMORY_LIMIT:
        patch["spec"]["template"] = {"spec": {"containers": [{
            "name": container.name, "env": [{"name": L1_ENV, "value": primary}],
            "resources": {"limits": {"memory": OP_NODE_MEMORY_LIMIT}}}]}}
    apps.patch_namespaced_deployment("op-node", NS, patch)
    wait_until(lambda: any(c.type == "Ready" and c.status == "True" for p in op_node_pods(lab)
                           for c in p.status.conditions or []) and len(op_node_pods(lab)) == 1,
               "one Ready op-node pod")
    wait_until(lambda: blocks_flow(lab, 1), "blocks flowing again")


@pytest.fixture
def nd_lab(lab: LabHandle) -> Iterator[LabHandle]:
    reset_op_node(lab)
    yield lab
    lab.lab.heal()
    reset_op_node(lab)


def network_down(lab: LabHandle, *args: str) -> tuple[Any, Path]:
    return run_incident(lab, "network-down", *args, timeout=240)


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


def test_a_restart_that_does_not_help_falls_back_to_scaling_0_then_1(nd_lab: LabHandle) -> None:
    nd_lab.lab.break_fault("restart-stuck")
    wait_for_stall(nd_lab)
    crashed = {p.metadata.name for p in op_node_pods(nd_lab)}
    done, record = network_down(nd_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "crash"
    summary = json.loads((record / "summary.json").read_text())
    assert [(g["kind"], g["change"].get("replicas")) for g in summary["gates"]] == [
        ("restart", None), ("scale", 0), ("scale", 1)], summary["gates"]
    pods = op_node_pods(nd_lab)
    assert len(pods) == 1 and pods[0].metadata.name not in crashed and op_node(nd_lab).spec.replicas == 1
    assert blocks_flow(nd_lab)
    assert "scaled op-node to 0" in artifact(record, "incident-report.md")


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


def test_pvc_corrupt_is_restored_from_the_newest_snapshot(nd_lab: LabHandle) -> None:
    _, core = kube(nd_lab)
    old_uid = core.read_namespaced_persistent_volume_claim("op-node-data", NS).metadata.uid
    nd_lab.lab.break_fault("pvc-corrupt")
    wait_for_stall(nd_lab)
    done, record = network_down(nd_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "volume_corrupt"
    pvc = core.read_namespaced_persistent_volume_claim("op-node-data", NS)
    assert pvc.metadata.uid != old_uid
    assert pvc.spec.data_source.name == "op-node-data-daily-2"  # the newest (lab supervisor: snapshot_times)
    assert op_node(nd_lab).spec.replicas == 1
    assert blocks_flow(nd_lab)


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


def network_down_limits(lab: LabHandle, **changes: str) -> str:
    """The inventory's jeju_network_down with some values changed, as one `-e` (extra vars replace whole dicts)."""
    inventory = lab.project / "inventories" / "local" / "group_vars" / "all" / "vars.yml"
    limits = yaml.safe_load(inventory.read_text())["jeju_network_down"]
    return "jeju_network_down=" + json.dumps({**limits, **changes})


def test_oom_at_the_memory_maximum_escalates_and_changes_nothing(nd_lab: LabHandle) -> None:
    nd_lab.lab.break_fault("sequencer-oom")
    wait_for_stall(nd_lab)
    version = op_node(nd_lab).metadata.resource_version
    done, record = network_down(nd_lab, "--yes", "-e", network_down_limits(nd_lab, memory_max=OP_NODE_MEMORY_LIMIT))
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
    done, record = network_down(nd_lab, "--yes", "-e", network_down_limits(nd_lab, memory_max="3Gi"))
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
    from kubernetes import client, config

    api = client.CustomObjectsApi(config.new_client_from_config(config_file=nd_lab.kubeconfig, context="jeju-lab"))
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


def test_drill_l1_rpc_down_recovers(lab: LabHandle) -> None:
    """The real `jeju-play drill` (fresh lab, break, settle, run, check from outside). Restarts the lab: last."""
    done = run_cli("drill", "network-down", "--fault", "l1-rpc-down", "--json", timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout[done.stdout.index("{"):])
    assert report["recovered"] is True and report["run_exit_code"] == 0
