"""rpc-down end to end: break the public path in the lab (reth, its Service, the Ingress), run the real
`jeju-play rpc-down`, and check from outside that the public RPC serves again: every call answers, in time, at the
chain's head. Assertions are on the lab and the record, never the playbook's words.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jeju_lab.recovery import blocks_flowing, rpc_serving
from jeju_lab.topology import APP_LABEL, PUBLIC_INGRESS, RATE_LIMIT_ANNOTATION
from tests.e2e.network_down_lab import reset_op_node, wait_for_stall
from tests.support import LabHandle, artifact, classification, kube, log_volume_percent, run_incident, wait_until

NS = "op-stack"
RETH_MEMORY = "8Gi"  # jeju_lab/topology.py


def reth(lab: LabHandle) -> Any:
    return kube(lab).apps.read_namespaced_deployment("reth", NS)


def serving(lab: LabHandle) -> bool:
    return rpc_serving(lab.lab).recovered


def reset(lab: LabHandle) -> None:
    clients = kube(lab)
    container = reth(lab).spec.template.spec.containers[0]
    patch: dict[str, Any] = {"spec": {"replicas": 1}}
    if container.resources.limits["memory"] != RETH_MEMORY:
        patch["spec"]["template"] = {"spec": {"containers": [{"name": container.name, "resources": {
            "limits": {"memory": RETH_MEMORY}}}]}}
    clients.apps.patch_namespaced_deployment("reth", NS, patch)
    clients.core.patch_namespaced_service("reth", NS, {"spec": {"selector": {APP_LABEL: "reth"}}})
    clients.networking.patch_namespaced_ingress(PUBLIC_INGRESS, NS, {"metadata": {"annotations": {
        RATE_LIMIT_ANNOTATION: None}}})
    wait_until(lambda: serving(lab), "the public RPC serving", limit=60)


@pytest.fixture
def rd_lab(lab: LabHandle) -> Iterator[LabHandle]:
    reset(lab)
    yield lab
    lab.lab.heal()
    reset(lab)


def rpc_down(lab: LabHandle, *args: str) -> tuple[Any, Path]:
    return run_incident(lab, "rpc-down", *args, timeout=240)


def summary(record: Path) -> dict[str, Any]:
    return json.loads((record / "summary.json").read_text())


def test_a_serving_rpc_is_not_down_and_nothing_changes(rd_lab: LabHandle) -> None:
    version = reth(rd_lab).metadata.resource_version
    done, record = rpc_down(rd_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "not_down"
    assert reth(rd_lab).metadata.resource_version == version and summary(record)["gates"] == []


def test_reth_at_zero_replicas_check_then_scaled_back(rd_lab: LabHandle) -> None:
    rd_lab.lab.break_fault("reth-scaled-to-zero")
    wait_until(lambda: not serving(rd_lab), "the public RPC down")
    version = reth(rd_lab).metadata.resource_version

    checked, record = rpc_down(rd_lab, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert classification(record) == "scaled_to_zero"
    assert summary(record)["gates"][0]["decision"].startswith("would ask")
    assert reth(rd_lab).metadata.resource_version == version and not serving(rd_lab)

    fixed, record = rpc_down(rd_lab, "--yes")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert reth(rd_lab).spec.replicas == 1
    assert serving(rd_lab)
    drift = yaml.safe_load(artifact(record, "drift.yml"))["drift"]
    assert [(d["file"], d["key"], d["was"], d["live"]) for d in drift] == [("reth/values.yaml", "replicas", 0, 1)]


def test_reth_oom_gets_one_memory_step(rd_lab: LabHandle) -> None:
    rd_lab.lab.break_fault("reth-oom")
    wait_until(lambda: not serving(rd_lab), "the public RPC down")
    done, record = rpc_down(rd_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "out_of_memory"
    assert reth(rd_lab).spec.template.spec.containers[0].resources.limits["memory"] == "10Gi"
    assert serving(rd_lab)


def reth_pod_names(lab: LabHandle) -> set[str]:
    return {p.metadata.name for p in kube(lab).core.list_namespaced_pod(NS, label_selector=f"{APP_LABEL}=reth").items}


def test_a_crash_looping_reth_check_plans_the_restart_then_the_run_rolls_it(rd_lab: LabHandle) -> None:
    rd_lab.lab.break_fault("reth-crash")
    wait_until(lambda: not serving(rd_lab), "the public RPC down")
    version, before = reth(rd_lab).metadata.resource_version, reth_pod_names(rd_lab)

    checked, record = rpc_down(rd_lab, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert classification(record) == "crash"
    assert [g["decision"][:9] for g in summary(record)["gates"]] == ["would ask"]
    assert reth(rd_lab).metadata.resource_version == version and reth_pod_names(rd_lab) == before

    fixed, record = rpc_down(rd_lab, "--yes")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert classification(record) == "crash"  # what --check planned is what the run acted on
    assert [g["kind"] for g in summary(record)["gates"]] == ["restart"]
    assert reth_pod_names(rd_lab).isdisjoint(before) and serving(rd_lab)


def test_a_full_disk_is_handed_to_high_resource_which_cleans_it_in_the_same_run(rd_lab: LabHandle) -> None:
    rd_lab.lab.break_fault("reth-disk-full")
    wait_until(lambda: not serving(rd_lab), "the public RPC down")

    checked, record = rpc_down(rd_lab, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert classification(record) == "disk_full"
    assert json.loads(artifact(record, "handover.json"))["found"]["cause"] == "disk_full"
    assert log_volume_percent(rd_lab) == 100 and not serving(rd_lab)

    done, record = rpc_down(rd_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "disk_full"
    handover = json.loads(artifact(record, "handover.json"))
    assert (handover["to"], handover["found"]["cause"]) == ("high-resource", "disk_full")
    assert [g["kind"] for g in summary(record)["gates"]] == ["change", "delete"]
    assert log_volume_percent(rd_lab) < 80 and serving(rd_lab)


def test_a_broken_service_selector_is_reported_not_changed(rd_lab: LabHandle) -> None:
    rd_lab.lab.break_fault("rpc-selector-broken")
    wait_until(lambda: not serving(rd_lab), "the public RPC down")
    service = kube(rd_lab).core.read_namespaced_service("reth", NS)
    done, record = rpc_down(rd_lab, "--yes")
    assert done.returncode == 3, done.stdout + done.stderr
    assert classification(record) == "selector_mismatch"
    after = kube(rd_lab).core.read_namespaced_service("reth", NS)
    assert after.metadata.resource_version == service.metadata.resource_version
    assert summary(record)["gates"] == []
    assert "reth-v2" in summary(record)["message"]
    drift = yaml.safe_load(artifact(record, "drift.yml"))["drift"]
    assert drift[0]["key"] == "service.selector" and drift[0]["was"] == {APP_LABEL: "reth-v2"}


def test_an_ingress_limit_below_the_floor_is_restored(rd_lab: LabHandle) -> None:
    rd_lab.lab.break_fault("rpc-rate-limited")
    wait_until(lambda: not serving(rd_lab), "the public RPC rate-limited")
    done, record = rpc_down(rd_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "rate_limited"
    annotations = kube(rd_lab).networking.read_namespaced_ingress(PUBLIC_INGRESS, NS).metadata.annotations
    assert annotations[RATE_LIMIT_ANNOTATION] == "100"
    assert serving(rd_lab)


def test_two_causes_at_once_are_fixed_in_two_rounds(rd_lab: LabHandle) -> None:
    """reth at 0 replicas and the ingress at 1 request per minute: the first fix does not verify, the run looks
    again and fixes the second cause."""
    rd_lab.lab.break_fault("rpc-rate-limited")
    rd_lab.lab.break_fault("reth-scaled-to-zero")
    wait_until(lambda: not serving(rd_lab), "the public RPC down")
    done, record = rpc_down(rd_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "scaled_to_zero"
    assert artifact(record, "classification-round-2").splitlines()[0] == "rate_limited"
    assert reth(rd_lab).spec.replicas == 1 and serving(rd_lab)
    assert [g["kind"] for g in summary(record)["gates"]] == ["scale", "patch"]
    report = artifact(record, "incident-report.md")
    assert "INCIDENT REPORT - Complete Loss of RPC Access" in report and "Status: Resolved" in report


def test_the_chain_down_is_handed_to_network_down_which_fixes_it_in_the_same_run(rd_lab: LabHandle) -> None:
    """The primary L1 refuses: op-node stalls and the RPC serves a stale head. rpc-down hands over to network-down
    (a gate), the run goes on into network-down's procedure, which points op-node at the backup L1."""
    reset_op_node(rd_lab)  # on the primary L1, whatever the tests before left
    rd_lab.lab.break_fault("l1-rpc-down")
    wait_for_stall(rd_lab)
    try:
        done, record = rpc_down(rd_lab, "--yes")
    finally:
        rd_lab.lab.heal()
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "chain_down"
    handover = json.loads(artifact(record, "handover.json"))
    assert (handover["to"], handover["found"]["cause"]) == ("network-down", "l1_rpc_down")
    assert [g["kind"] for g in summary(record)["gates"]][:2] == ["change", "patch"]
    env = {e.name: e.value for e in kube(rd_lab).apps.read_namespaced_deployment("op-node", NS)
           .spec.template.spec.containers[0].env}
    assert env["OP_NODE_L1_ETH_RPC"] == rd_lab.state["endpoints"]["l1_rpc_urls"][1]
    assert blocks_flowing(rd_lab.lab).recovered and serving(rd_lab)
    reset_op_node(rd_lab)  # back on the primary L1 for the tests that follow on this lab


def test_drill_rpc_down_recovers(lab: LabHandle) -> None:
    from tests.support import run_cli

    done = run_cli("drill", "rpc-down", "--fault", "reth-scaled-to-zero", "--json", env_extra=lab.env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout[done.stdout.index("{"):])
    assert report["recovered"] is True and report["run_exit_code"] == 0
