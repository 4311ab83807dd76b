# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filters for high-resource (runbook "P2: High Resource Utilization").

    {{ high_resource_measure | jeju.ops.high_resource_cause(k8s_triage_state, jeju_thresholds.resource_percent,
                                                            jeju_high_resource.log_path, jeju_deployments) }}

the decision; high_resource_measure holds usage (jeju.ops.pod_usage), disks (jeju.ops.df_usage of reth's
volumes) and log_contents (`du -sh` lines of the log volume).
"""

from __future__ import annotations

from ansible_collections.jeju.ops.plugins.filter.pod_usage import hot, resources_above

CAUSES = {
    "reth_down": "reth has no Ready pod: the L2 RPC is down, and its usage and volumes cannot be measured",
    "normal": "Normal: no pod and no volume is above the threshold",
    "disk_full": "Disk full: reth's log volume is above the threshold",
    "reth_cpu": "High CPU on reth: load (may be normal during high traffic); scale horizontally",
    "reth_memory": "High memory on reth: restart to reclaim memory (if no leak)",
    "op_node": "High CPU or memory on op-node: the sequencer cannot be scaled horizontally",
    "data_disk": "Data growing: a volume other than the logs is above the threshold",
    "unexpected_pod": "Unexpected pod with high CPU or memory: possible bug or attack",
}


def high_resource_cause(measure, triage, limit, log_path, deployments):
    limit = float(limit)
    usage, disks = measure.get("usage") or [], measure.get("disks") or []
    cpu_hot, memory_hot = hot(usage, "cpu_percent", limit), hot(usage, "memory_percent", limit)
    log_disk = next((d for d in disks if d.get("mount") == log_path), {"percent": 0})
    other_disks = [d for d in disks if d.get("mount") != log_path and d.get("percent", 0) > limit]
    hot_apps = list(dict.fromkeys(u.get("app") for u in cpu_hot + memory_hot))
    reth, op_node = deployments["reth"], deployments["op_node"]
    if float(log_disk.get("percent", 0)) > limit:  # first: a full log volume is why a reth stops serving
        cause = "disk_full"
    elif int(triage.get("ready_pods", 0)) == 0:
        cause = "reth_down"
    elif reth in [u.get("app") for u in cpu_hot]:
        cause = "reth_cpu"
    elif reth in [u.get("app") for u in memory_hot]:
        cause = "reth_memory"
    elif op_node in hot_apps:
        cause = "op_node"
    elif other_disks:
        cause = "data_disk"
    elif hot_apps:
        cause = "unexpected_pod"
    else:
        cause = "normal"
    deployment = triage.get("deployment") or {}
    return {
        "cause": cause,
        "cause_text": CAUSES[cause],
        "healthy": cause == "normal",
        "hot_pods": list(dict.fromkeys(u["pod"] for u in cpu_hot + memory_hot)),
        "reth_replicas": int(deployment.get("replicas") or 0),
        "reth_pod": triage.get("exec_pod") or "",  # the pod measured, where the cleanup runs
        "log_percent": log_disk.get("percent", 0),
        "evidence": {
            "threshold_percent": limit,
            "above_threshold": resources_above(usage, disks, limit),
            "pods": [f"{u['pod']}: cpu {u.get('cpu_percent')} %, memory {u.get('memory_percent')} %" for u in usage],
            "volumes": [f"{d['mount']}: {d['percent']} %" for d in disks],
            "log_volume_contents": measure.get("log_contents") or [],
            "reth_replicas": f"{deployment.get('replicas')} ({triage.get('ready_pods', 0)} Ready)",
        },
    }


class FilterModule:
    def filters(self):
        return {"high_resource_cause": high_resource_cause}
