"""jeju.ops.rpc_degraded_cause, high_resource_cause, resources_above and the quantity filters."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.jeju.ops.plugins.filter.high_resource import high_resource_cause
from ansible_collections.jeju.ops.plugins.filter.k8s_units import k8s_bytes, k8s_memory_plan, k8s_millicores
from ansible_collections.jeju.ops.plugins.filter.pod_usage import pod_usage, resources_above
from ansible_collections.jeju.ops.plugins.filter.rpc_degraded import rpc_degraded_cause

THRESHOLDS = {"resource_percent": 80, "rpc_latency_ms": 500}
RPC_SETTINGS = {"probe_samples": 8, "connections_high": 1000}
DEPLOYMENTS = {"reth": "reth", "op_node": "op-node"}


def usage(app: str, cpu: float | None = 10, memory: float | None = 10) -> dict[str, Any]:
    return {"pod": f"{app}-1", "app": app, "cpu_percent": cpu, "memory_percent": memory, "cpu_millicores": 100,
            "memory_bytes": 2**30}


def rpc_reads(slow: bool = True, reth_cpu: float = 10, indexer: int = 0, connections: int = 5) -> dict[str, Any]:
    return {"probe": {"degraded": slow, "p50_ms": 600, "p95_ms": 900, "errors": 0},
            "usage": [usage("reth", cpu=reth_cpu)], "indexer": {"status": {"readyReplicas": indexer}, "spec": {
                "replicas": indexer}}, "ingress": {}, "connections": connections}


RPC = [
    ("fast", rpc_reads(slow=False, reth_cpu=95), "not_degraded"),
    ("slow and reth busy", rpc_reads(reth_cpu=95, indexer=1), "overloaded"),
    ("slow, reth idle, indexer runs", rpc_reads(indexer=1), "database_slow"),
    ("slow, reth idle, no indexer", rpc_reads(), "unknown"),
]


@pytest.mark.parametrize(("reads", "expected"), [c[1:] for c in RPC], ids=[c[0] for c in RPC])
def test_rpc_causes(reads: dict[str, Any], expected: str) -> None:
    triage = {"deployment": {"replicas": 1}, "ready_pods": 1, "logs": ["slow query"]}
    decided = rpc_degraded_cause(reads, triage, THRESHOLDS, RPC_SETTINGS, "reth")
    assert decided["cause"] == expected


def test_rpc_rate_limit_needed_on_many_connections() -> None:
    triage = {"deployment": {"replicas": 1}, "ready_pods": 1, "logs": []}
    many = rpc_degraded_cause(rpc_reads(reth_cpu=95, connections=1200), triage, THRESHOLDS, RPC_SETTINGS, "reth")
    assert many["rate_limit_needed"] and many["connections"] == 1200
    uncounted = rpc_degraded_cause(rpc_reads(connections=-1), triage, THRESHOLDS, RPC_SETTINGS, "reth")
    assert not uncounted["rate_limit_needed"]


def measure(*entries: dict[str, Any], log: int = 40, data: int = 40) -> dict[str, Any]:
    disks = [{"mount": "/var/log", "percent": log}, {"mount": "/data", "percent": data}]
    return {"usage": list(entries), "disks": disks, "log_contents": ["1G /var/log/reth.log"]}


RESOURCES = [
    ("normal", measure(usage("reth")), 1, "normal"),
    ("reth down wins over CPU", measure(usage("reth", cpu=99)), 0, "reth_down"),
    ("a full log volume wins over reth down: it is why reth stopped", measure(usage("reth"), log=95), 0,
     "disk_full"),
    ("reth down with nothing measured", {"usage": [], "disks": []}, 0, "reth_down"),
    ("log volume full wins over CPU", measure(usage("reth", cpu=99), log=95), 1, "disk_full"),
    ("reth CPU", measure(usage("reth", cpu=99)), 1, "reth_cpu"),
    ("reth CPU wins over memory", measure(usage("reth", cpu=99, memory=99)), 1, "reth_cpu"),
    ("reth memory", measure(usage("reth", memory=99)), 1, "reth_memory"),
    ("op-node", measure(usage("reth"), usage("op-node", cpu=99)), 1, "op_node"),
    ("data volume", measure(usage("reth"), data=95), 1, "data_disk"),
    ("unexpected pod", measure(usage("reth"), usage("miner", cpu=99)), 1, "unexpected_pod"),
    ("no limit (percent null) is never hot", measure(usage("reth", cpu=None, memory=None)), 1, "normal"),
]


@pytest.mark.parametrize(("measured", "ready", "expected"), [c[1:] for c in RESOURCES], ids=[c[0] for c in RESOURCES])
def test_high_resource_causes(measured: dict[str, Any], ready: int, expected: str) -> None:
    triage = {"ready_pods": ready, "pods": [{"name": "reth-1", "ready": bool(ready)}], "deployment": {"replicas": 1}}
    decided = high_resource_cause(measured, triage, 80, "/var/log", DEPLOYMENTS)
    assert decided["cause"] == expected and decided["healthy"] is (expected == "normal")


def test_resources_above_labels_each_hot_resource() -> None:
    hot = resources_above([usage("reth", cpu=90, memory=95)], [{"mount": "/var/log", "percent": 81}], 80)
    assert hot == ["reth-1 cpu", "reth-1 memory", "disk /var/log"]
    assert resources_above([], None, 80) == []


def test_quantities_use_the_kubernetes_parser() -> None:
    assert k8s_bytes("2Gi") == 2 * 2**30 and k8s_bytes("1G") == 10**9 and k8s_bytes("262144Ki") == 2**28
    assert k8s_millicores("3900m") == 3900 and k8s_millicores("120000000n") == 120 and k8s_millicores("4") == 4000
    assert k8s_memory_plan("2Gi", "2Gi", "8Gi") == {"current": "2Gi", "target": "4Gi", "maximum": "8Gi",
                                                     "raise": True, "at_max": False}
    capped = k8s_memory_plan("7Gi", "2Gi", "8Gi")
    assert capped["target"] == "8Gi" and capped["raise"]
    assert k8s_memory_plan("8Gi", "2Gi", "8Gi")["raise"] is False
    with pytest.raises(AnsibleFilterError, match="lots"):
        k8s_bytes("lots")


def test_pod_usage_joins_limits_and_metrics() -> None:
    pods = [{"metadata": {"namespace": "ns", "name": "p", "labels": {"app.kubernetes.io/name": "reth"}},
             "spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "2", "memory": "1Gi"}}}]}}]
    metrics = [{"metadata": {"namespace": "ns", "name": "p"},
                "containers": [{"name": "c", "usage": {"cpu": "1500000000n", "memory": "524288Ki"}}]}]
    [row] = pod_usage(pods, metrics)
    assert (row["app"], row["cpu_percent"], row["memory_percent"]) == ("reth", 75.0, 50.0)
    # jeju.ops.k8s_read's objects, both kinds in one mapping: the same join.
    assert pod_usage({"Pod": pods, "PodMetrics": metrics}) == [row]
