"""low_balance_cause, funding_reached, daily_checks_grade, open_runs, rollback_plan, k8s_triage_summary,
duration_words and security_breach_evidence."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.jeju.ops.plugins.filter.daily_checks import daily_checks_grade
from ansible_collections.jeju.ops.plugins.filter.durations import duration_words
from ansible_collections.jeju.ops.plugins.filter.handoff import open_runs
from ansible_collections.jeju.ops.plugins.filter.k8s_triage import (
    k8s_log_pod,
    k8s_log_pods,
    k8s_triage_components,
    k8s_triage_summary,
)
from ansible_collections.jeju.ops.plugins.filter.low_balance import funding_reached, low_balance_cause
from ansible_collections.jeju.ops.plugins.filter.revisions import rollback_plan
from ansible_collections.jeju.ops.plugins.filter.security_breach import security_breach_evidence

CATALOG = [{"name": "low-balance", "routine": False, "daily_checks": ["balances"]},
           {"name": "network-down", "routine": False, "daily_checks": ["l2_blocks", "pods_op_node"]},
           {"name": "daily-checks", "routine": True, "daily_checks": []}]


def test_low_balance_names_who_is_low() -> None:
    balances = {"below_min": ["batcher"], "block_number": 9,
                "balances": {"batcher": {"eth": 0.5, "min_eth": 1.0}, "proposer": {"eth": 5.0, "min_eth": 2.0}}}
    decided = low_balance_cause(balances)
    assert decided["cause"] == "low" and decided["low"] == ["batcher"] and not decided["healthy"]
    assert decided["cause_text"] == "Below the low mark (ETH): batcher 0.5 < 1.0"
    assert low_balance_cause({"below_min": [], "balances": {}})["healthy"]


def test_funding_reached_checks_each_transfer_of_this_run() -> None:
    sent = [{"name": "batcher", "sent_by_this_run": True, "balance_after_eth": 6.0, "target_eth": 6}]
    assert funding_reached(sent, {"below_min": []})["ok"]
    short = [{"name": "batcher", "sent_by_this_run": True, "balance_after_eth": 5.0, "target_eth": 6, "tx_hash": "0x1"}]
    assert "below its target 6 ETH" in funding_reached(short, {"below_min": []})["failure"]
    assert "still low" in funding_reached([], {"below_min": ["proposer"]})["failure"]


def test_daily_checks_name_the_incident_from_the_catalog() -> None:
    reads = {"balances": {"below_min": ["batcher"], "balances": {"batcher": {"eth": 0.1}}},
             "rpc": {"msg": "refused"}, "l2": {"stalled": False, "number": 5, "age_seconds": 1},
             "batches": {"batches_in_window": 2}, "outputs": {"proposed": True, "age_seconds": 5, "mismatch": False}}
    components = [{"key": "op_node", "name": "op-node", "ready_pods": 0, "pods": [], "errors": [], "logs": []},
                  {"key": "reth", "name": "reth", "ready_pods": 1, "pods": [{"restarts": 2}], "errors": [],
                   "logs": ["lvl=info msg=ok", 'lvl=eror msg="bad block"', "lvl=warn msg=slow"]}]
    thresholds = {"balance_low_eth": 2, "rpc_latency_ms": 500, "batch_stall_seconds": 15, "output_stall_seconds": 90}
    graded = {c["id"]: c for c in daily_checks_grade(reads, components, thresholds, CATALOG, 200)}
    assert not graded["balances"]["ok"] and graded["balances"]["incident"] == "low-balance"
    assert not graded["public_rpc"]["ok"] and graded["public_rpc"]["detail"] == "refused"
    assert graded["l2_blocks"]["ok"] and graded["batches"]["ok"] and graded["outputs"]["ok"]
    assert not graded["pods_op_node"]["ok"] and graded["pods_op_node"]["incident"] == "network-down"
    assert graded["pods_reth"]["ok"]
    assert graded["pods_reth"]["detail"] == ('1 of 1 pods ready, restarts 2, 1 error lines in the last 200: '
                                             'lvl=eror msg="bad block"')


def test_open_runs_leave_out_routine_closed_and_other_environments() -> None:
    runs = [{"incident": "network-down", "outcome": "escalated", "environment": "local", "started": "2"},
            {"incident": "network-down", "outcome": "verified", "environment": "local", "started": "1"},
            {"incident": "daily-checks", "outcome": "failed", "environment": "local", "started": "3"},
            {"incident": "low-balance", "outcome": "failed", "environment": "mainnet", "started": "4"},
            {"incident": "low-balance", "outcome": "refused", "environment": "local", "started": "0"}]
    assert [r["started"] for r in open_runs(runs, CATALOG, "local")] == ["0", "2"]


def replicaset(revision: int, image: str) -> dict[str, Any]:
    annotations = {"deployment.kubernetes.io/revision": str(revision)}
    return {"metadata": {"name": f"op-node-{revision}", "annotations": annotations,
                         "ownerReferences": [{"kind": "Deployment", "name": "op-node"}]},
            "spec": {"template": {"metadata": {"labels": {"app": "op-node"}},
                                  "spec": {"containers": [{"name": "op-node", "image": image}]}}}}


DEPLOYMENT = {"metadata": {"name": "op-node", "annotations": {"deployment.kubernetes.io/revision": "3"}},
              "spec": {"template": {"spec": {"containers": [{"image": "op-node:v3"}]}}}}


@pytest.mark.parametrize(("name", "revision", "cause", "target"), [
    ("op-node", None, "roll_back", 2), ("op-node", 1, "roll_back", 1), ("op-node", 999, "no_such_revision", 999),
    ("reth", None, "no_deployment", 0)])
def test_rollback_plan(name: str, revision: int | None, cause: str, target: int) -> None:
    sets = [replicaset(1, "op-node:v1"), replicaset(2, "op-node:v2"), replicaset(3, "op-node:v3")]
    plan = rollback_plan(sets, [DEPLOYMENT], name, revision)
    assert plan["cause"] == cause and plan["target"] == target


def test_rollback_with_nothing_earlier() -> None:
    plan = rollback_plan([replicaset(3, "op-node:v3")], [DEPLOYMENT], "op-node")
    assert plan["cause"] == "no_earlier_revision" and plan["cause_text"] == "op-node has no revision before 3"


def k8s_pod(name: str, ready: bool, created: str, phase: str = "Running") -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"app.kubernetes.io/name": "op-node"}, "creationTimestamp": created},
            "spec": {"nodeName": "n1"},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def test_log_pod_prefers_ready_then_running_then_newest() -> None:
    pods = [k8s_pod("old-ready", True, "1"), k8s_pod("new-crashing", False, "2"), k8s_pod("pending", False, "3",
                                                                                           phase="Pending")]
    assert k8s_log_pod(pods, "op-node", "app.kubernetes.io/name") == "old-ready"
    assert k8s_log_pod(pods[1:], "op-node", "app.kubernetes.io/name") == "new-crashing"
    assert k8s_log_pod([], "op-node", "app.kubernetes.io/name") == ""


def test_exec_pod_is_a_running_container_ready_first_never_one_waiting_to_restart() -> None:
    crashing = k8s_pod("crashing", False, "4")
    crashing["status"]["containerStatuses"] = [{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]
    unready = k8s_pod("running-unready", False, "2")
    pods = [unready, k8s_pod("ready", True, "1"), crashing, k8s_pod("pending", False, "3", phase="Pending")]

    def exec_pod(chosen: list[dict[str, Any]]) -> str:
        return str(k8s_triage_summary({"Pod": chosen}, "op-node", "app.kubernetes.io/name")["exec_pod"])

    assert exec_pod(pods) == "ready"
    assert exec_pod([unready, crashing]) == "running-unready"  # exec works where the readiness probe fails
    assert exec_pod([crashing, pods[3]]) == ""


def test_triage_summary_reports_a_log_read_that_failed() -> None:
    objects = {"Pod": [k8s_pod("op-node-1", False, "1")], "Node": [{"metadata": {"name": "n1"}, "status": {
        "conditions": [{"type": "Ready", "status": "False"}]}}]}
    summary = k8s_triage_summary(objects, "op-node", "app.kubernetes.io/name", {"failed": True, "msg": "node lost"})
    assert summary["errors"] == ["logs of op-node-1: node lost"] and summary["logs"] == []
    assert summary["not_ready_nodes"] == ["n1"] and summary["stranded_pods"][0]["name"] == "op-node-1"
    assert not summary["deployment"]["found"]
    read = k8s_triage_summary(objects, "op-node", "app.kubernetes.io/name", {"log": "a\n\nb\n"})
    assert read["logs"] == ["a", "b"] and read["errors"] == []


def test_triage_summary_names_cordoned_nodes_and_a_pod_no_node_takes() -> None:
    message = "0/2 nodes are available: 2 node(s) were unschedulable."
    pending = k8s_pod("op-node-2", False, "1", phase="Pending")
    pending["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                        "message": message}]
    objects = {"Pod": [pending], "Node": [
        {"metadata": {"name": "n1"}, "spec": {"unschedulable": True},
         "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        {"metadata": {"name": "n2"}, "spec": {}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}]}
    summary = k8s_triage_summary(objects, "op-node", "app.kubernetes.io/name")
    assert summary["cordoned_nodes"] == ["n1"]
    assert summary["nodes"] == [{"name": "n1", "ready": True, "cordoned": True},
                                {"name": "n2", "ready": True, "cordoned": False}]
    assert [p["unschedulable"] for p in summary["pods"]] == [message]


def test_triage_components_one_read_a_summary_each_in_order_with_key_and_name() -> None:
    node, reth = k8s_pod("op-node-1", True, "1"), k8s_pod("reth-1", True, "1")
    reth["metadata"]["labels"] = {"app.kubernetes.io/name": "reth"}
    objects = {"Pod": [node, reth]}
    components = {"reth": "reth", "op_node": "op-node", "op_batcher": "op-batcher"}
    assert k8s_log_pods(objects["Pod"], list(components.values()), "app.kubernetes.io/name") == [
        "reth-1", "op-node-1", ""]
    logs = [{"log": "lvl=eror msg=x\n"}, {"msg": "pod gone"}, {"skipped": True}]
    states = k8s_triage_components(objects, components, "app.kubernetes.io/name", logs)
    assert [(s["key"], s["name"], s["log_pod"]) for s in states] == [
        ("reth", "reth", "reth-1"), ("op_node", "op-node", "op-node-1"), ("op_batcher", "op-batcher", "")]
    assert states[0]["logs"] == ["lvl=eror msg=x"] and states[0]["ready_pods"] == 1
    assert states[1]["errors"] == ["logs of op-node-1: pod gone"]
    assert states[2]["pods"] == [] and not states[2]["deployment"]["found"]
    with pytest.raises(AnsibleFilterError, match="3 components but 2 log answers"):
        k8s_triage_components(objects, components, "app.kubernetes.io/name", logs[:2])


def test_duration_words() -> None:
    assert [duration_words(v) for v in ("15m", "1h", "2h", "90s", "1d")] == [
        "15 minutes", "1 hour", "2 hours", "90 seconds", "1 day"]
    with pytest.raises(AnsibleFilterError, match="every hour"):
        duration_words("every hour")


def test_security_breach_evidence_in_eth() -> None:
    snapshot = {"from_block": 1, "to_block": 9, "transactions": [{}, {}], "outflows": [{"wei": 3 * 10**18}],
                "suspects": [{"address": "0xbad", "outflow_wei": "3000000000000000000", "source": "largest outflows"}],
                "balances_wei": {"optimism_portal": 10**19}}
    found = security_breach_evidence(snapshot)
    assert found["cause"] == "breach" and not found["healthy"]
    assert found["evidence"]["outflow_eth"] == 3.0 and found["evidence"]["balances_eth"] == {"optimism_portal": 10.0}
    assert found["evidence"]["suspects"] == ["0xbad (3.0 ETH, largest outflows)"]


@pytest.mark.parametrize(("outputs", "ok"), [
    ({"proposed": True, "age_seconds": 0, "mismatch": False}, True),  # proposed this very second
    ({"proposed": True, "age_seconds": 89, "mismatch": False}, True),
    ({"proposed": True, "age_seconds": 90, "mismatch": False}, False),
    ({"proposed": True, "mismatch": False}, False),  # age unknown
    ({"proposed": True, "age_seconds": 3, "mismatch": True}, False),
    ({"proposed": False}, False),
])
def test_daily_checks_grade_output_age(outputs: dict[str, object], ok: bool) -> None:
    reads = {"outputs": outputs}
    thresholds = {"balance_low_eth": 2, "rpc_latency_ms": 500, "batch_stall_seconds": 15, "output_stall_seconds": 90}
    graded = {c["id"]: c for c in daily_checks_grade(reads, [], thresholds, CATALOG, 200)}
    assert graded["outputs"]["ok"] is ok, graded["outputs"]["detail"]
