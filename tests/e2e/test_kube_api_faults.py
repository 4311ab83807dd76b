"""The Kubernetes API having a bad moment mid-run (the lab's double armed to answer 500, 429, or to apply a change
and lose its answer): a change is asked again within the inventory's bound and lands once; past the bound the run
fails naming the call, and changes nothing the record does not show."""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.support import LabHandle, classification

from .network_down_lab import NS, blocks_flow, kube, network_down, op_node, wait_for_stall

OP_NODE = f"/namespaces/{NS}/deployments/op-node"
RESTARTED = "kubectl.kubernetes.io/restartedAt"


def replica_sets(lab: LabHandle) -> set[str]:
    apps, _ = kube(lab)
    return {rs.metadata.name for rs in apps.list_namespaced_replica_set(NS).items
            if rs.metadata.name.startswith("op-node-")}


def restarted_at(lab: LabHandle) -> Any:
    return (op_node(lab).spec.template.metadata.annotations or {}).get(RESTARTED)


def events(record: Any, kind: str) -> list[dict[str, Any]]:
    lines = (record / "events.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e.get("event") == kind]


def test_a_restart_the_api_fails_then_loses_is_asked_again_and_lands_once(nd_lab: LabHandle) -> None:
    lab = nd_lab.lab
    assert lab.clear_kube_api_faults() == {"armed": [], "hits": []}  # the lab is shared: a clean slate
    nd_lab.lab.break_fault("sequencer-crash")
    wait_for_stall(nd_lab)
    before = replica_sets(nd_lab)
    lab.kube_api_fault("500", 2, methods=("PATCH",), path_contains=OP_NODE)  # an etcd leader election
    lab.kube_api_fault("lost", 1, methods=("PATCH",), path_contains=OP_NODE)  # applied, then the answer lost
    done, record = network_down(nd_lab, "--yes")
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert classification(record) == "crash"
    hits = lab.kube_api_faults()
    assert [(h["method"], h["mode"]) for h in hits["hits"]] == [("PATCH", "500"), ("PATCH", "500"),
                                                                ("PATCH", "lost")]
    assert hits["armed"] == []
    assert "Internal Server Error; asked again" in said and "Traceback" not in said
    assert len(replica_sets(nd_lab) - before) == 1  # one rollout: the retry after the lost answer changed nothing
    summary = json.loads((record / "summary.json").read_text())
    assert [g["kind"] for g in summary["gates"]] == ["restart"]
    retried = events(record, "runner_retry")  # each failed attempt is in the record (kubernetes.core sends a
    assert retried and all(e["res"]["reason"] == "Internal Server Error" for e in retried)  # merge patch after a
    # failed strategic merge patch: an attempt may meet two of the faults)
    assert blocks_flow(nd_lab)


def test_an_api_that_keeps_refusing_fails_the_run_naming_the_call_and_changes_nothing(nd_lab: LabHandle) -> None:
    lab = nd_lab.lab
    assert lab.clear_kube_api_faults() == {"armed": [], "hits": []}  # the lab is shared: a clean slate
    nd_lab.lab.break_fault("sequencer-crash")
    wait_for_stall(nd_lab)
    was, before = restarted_at(nd_lab), replica_sets(nd_lab)
    lab.kube_api_fault("429", 50, methods=("PATCH",), path_contains=OP_NODE)  # an overloaded apiserver
    done, record = network_down(nd_lab, "--yes")
    said = done.stdout + done.stderr
    assert done.returncode == 1, said
    summary = json.loads((record / "summary.json").read_text())
    assert summary["outcome"] == "failed"
    shared = nd_lab.project / "inventories" / "shared" / "group_vars" / "all" / "cluster.yml"
    retries = int(yaml.safe_load(shared.read_text())["jeju_kube_retry"]["retries"])
    message = summary["message"]  # the call, what the API said, and how often it was asked
    assert message.startswith("Restart the Deployment's pods (kubectl rollout restart): Failed to patch object: "
                              "the Kubernetes API answered 429 TooManyRequests: "), message
    assert message.endswith(f"(asked again {retries} times)") and '{"kind"' not in message
    assert len(events(record, "runner_retry")) == retries  # asked once, then again `retries` times, no more
    assert len([h for h in lab.kube_api_faults()["hits"] if h["mode"] == "429"]) >= retries + 1
    assert said.count("Too Many Requests; asked again") == 1  # said once; the failure says how often
    assert "Traceback" not in said
    assert restarted_at(nd_lab) == was and replica_sets(nd_lab) == before  # nothing changed...
    assert [g["kind"] for g in summary["gates"]] == ["restart"]  # ...and the record says what was approved
    assert lab.clear_kube_api_faults()["armed"] == []


def test_a_list_the_api_fails_during_diagnosis_is_asked_again_and_said(nd_lab: LabHandle) -> None:
    lab = nd_lab.lab
    assert lab.clear_kube_api_faults() == {"armed": [], "hits": []}  # the lab is shared: a clean slate
    nd_lab.lab.break_fault("sequencer-crash")
    wait_for_stall(nd_lab)
    pods = f"/api/v1/namespaces/{NS}/pods"
    lab.kube_api_fault("500", 2, methods=("GET",), path_contains=pods)
    done, record = network_down(nd_lab, "--check")
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert classification(record) == "crash"  # diagnosed on what the API answered the third time
    hits = lab.kube_api_faults()["hits"]
    assert [(h["method"], h["path"], h["mode"]) for h in hits] == [("GET", pods, "500")] * 2
    assert "The Kubernetes API failed 2 list(s) and answered when asked again: Pod, Pod" in said
    assert "Traceback" not in said
