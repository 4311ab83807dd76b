"""sequencer-restarts faults: op-node restarts every few seconds while blocks still flow (OOMKilled, killed by a
failing liveness probe, dying on a flapping L1 RPC, panicking), and the remedy applied by hand with kubectl stops
the restarts. Observed as a user sees it: kubectl's restart counts, termination reasons, events and logs."""

from __future__ import annotations

import json
from typing import Any

from jeju_lab.recovery import restarts_stopped
from tests.support import LabHandle

from .helpers import blocks_flow, endpoints, eventually, kubectl, kubectl_json, logs


def op_node_restarts(lab: LabHandle) -> int:
    items = kubectl_json(lab, "get", "pods", "-l", "app.kubernetes.io/name=op-node")["items"]
    return sum(c.get("restartCount", 0) for p in items for c in p["status"].get("containerStatuses") or [])


def last_termination(lab: LabHandle) -> dict[str, Any]:
    items = kubectl_json(lab, "get", "pods", "-l", "app.kubernetes.io/name=op-node")["items"]
    statuses = [c for p in items for c in p["status"].get("containerStatuses") or []]
    return dict((statuses[-1].get("lastState") or {}).get("terminated") or {}) if statuses else {}


def restarting(lab: LabHandle, fault: str) -> dict[str, Any]:
    """Break `fault`; op-node restarts at least twice, stays Ready between, and blocks flow."""
    before = op_node_restarts(lab)
    lab.lab.break_fault(fault)
    eventually(lambda: op_node_restarts(lab), lambda n: n >= before + 2, "op-node restarted twice", within=30)
    blocks_flow(lab, blocks=2)
    return last_termination(lab)


def events(lab: LabHandle, reason: str) -> list[str]:
    return [e["message"] for e in kubectl_json(lab, "get", "events")["items"]
            if e.get("reason") == reason and e["involvedObject"]["name"].startswith("op-node-")]


def test_oom_restarts_then_a_larger_limit_stops_them(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    terminated = restarting(lab, "sequencer-oom-restarts")
    assert (terminated["reason"], terminated["exitCode"]) == ("OOMKilled", 137)
    assert "out of memory" in logs(lab, "op-node")
    kubectl(lab, "set", "resources", "deployment/op-node", "--limits=memory=4Gi")
    kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=20s")
    assert restarts_stopped(lab.lab).recovered


def test_a_failing_liveness_probe_kills_op_node_then_a_longer_timeout_stops_it(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    restarting(lab, "liveness-probe-failing")
    assert any(m.startswith("Liveness probe failed") for m in events(lab, "Unhealthy"))
    assert any("failed liveness probe, will be restarted" in m for m in events(lab, "Killing"))
    probe = {"spec": {"template": {"spec": {"containers": [{"name": "op-node", "livenessProbe": {
        "httpGet": {"path": "/healthz", "port": 9545}, "timeoutSeconds": 5}}]}}}}
    kubectl(lab, "patch", "deployment", "op-node", "--type=strategic", "-p", json.dumps(probe))
    kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=20s")
    assert restarts_stopped(lab.lab).recovered


def test_a_flapping_l1_rpc_restarts_op_node_then_the_backup_stops_it(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    # The fault flaps the primary L1: op-node must point there (an earlier test on this shared lab may have left it
    # on the backup; setting the same value changes nothing).
    primary = endpoints(lab)["l1_rpc_urls"][0]
    kubectl(lab, "set", "env", "deployment/op-node", f"OP_NODE_L1_ETH_RPC={primary}")
    kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=30s")
    terminated = restarting(lab, "l1-rpc-flapping")
    assert terminated["exitCode"] == 1
    assert "failed to get L1 chain ID" in logs(lab, "op-node")
    backup = endpoints(lab)["l1_rpc_urls"][1]
    kubectl(lab, "set", "env", "deployment/op-node", f"OP_NODE_L1_ETH_RPC={backup}")
    kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=20s")
    assert restarts_stopped(lab.lab).recovered


def test_panics_restart_op_node_then_a_new_pod_stops_them(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    terminated = restarting(lab, "sequencer-panics")
    assert terminated["exitCode"] == 2 and "index out of range" in logs(lab, "op-node")
    kubectl(lab, "rollout", "restart", "deployment/op-node")
    kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=20s")
    assert restarts_stopped(lab.lab).recovered
