# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filter rpc_degraded_cause (runbook "P1: RPC Degraded Performance"): the decision.

    {{ rpc_degraded_reads | jeju.ops.rpc_degraded_cause(k8s_triage_state, jeju_thresholds, jeju_rpc_degraded,
                                                        jeju_deployments.reth) }}

rpc_degraded_reads: probe (jeju.ops.rpc_probe of the public RPC), usage (jeju.ops.pod_usage of the namespace's
pods), indexer (the indexer's Deployment, or none), ingress (the public Ingress, or none) and connections (open
connections on reth's RPC port, an int; -1 when they could not be counted).
"""

from __future__ import annotations

CAUSES = {
    "not_degraded": "Not degraded: the public RPC answers under the threshold",
    "overloaded": "Overloaded: reth's CPU or memory is high under the load",
    "database_slow": "Database slow: the RPC is slow while reth is not busy and the indexer runs",
    "unknown": "Unknown: the RPC is slow, reth is not busy and the indexer does not run",
}
SLOW_LINE = ("slow", "timeout", "error")


def _max(values):
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return float(max([*numbers, 0]))


def _human_bytes(size):
    value = float(size or 0)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.2f} {unit}"
        value /= 1024
    return f"{value:.2f} TB"


def rpc_degraded_cause(reads, triage, thresholds, settings, reth):
    probe, usage = reads.get("probe") or {}, reads.get("usage") or []
    indexer, ingress = reads.get("indexer") or {}, reads.get("ingress") or {}
    connections = int(reads.get("connections", -1))
    reth_usage = [u for u in usage if u.get("app") == reth]
    cpu, memory = _max(u.get("cpu_percent") for u in reth_usage), _max(u.get("memory_percent") for u in reth_usage)
    limit = float(thresholds["resource_percent"])
    indexer_ready = int((indexer.get("status") or {}).get("readyReplicas") or 0)
    slow = bool(probe.get("degraded"))
    if not slow:
        cause = "not_degraded"
    elif cpu > limit or memory > limit:
        cause = "overloaded"
    elif indexer_ready > 0:
        cause = "database_slow"
    else:
        cause = "unknown"
    deployment = triage.get("deployment") or {}
    latency = (f"p50 {probe.get('p50_ms', '?')} ms, p95 {probe.get('p95_ms', '?')} ms, errors "
               f"{probe.get('errors', '?')}/{settings['probe_samples']} (threshold {thresholds['rpc_latency_ms']} ms): "
               f"{'slow' if slow else 'fine'}")
    return {
        "cause": cause,
        "cause_text": CAUSES[cause],
        "healthy": cause == "not_degraded",
        "reth_replicas": int(deployment.get("replicas") or 0),
        "indexer_replicas": int((indexer.get("spec") or {}).get("replicas") or 0),
        "connections": connections,
        "ingress_annotations": (ingress.get("metadata") or {}).get("annotations") or {},
        "rate_limit_needed": connections > int(settings["connections_high"]),
        "evidence": {
            "latency": latency,
            "reth_replicas": f"{deployment.get('replicas')} ({triage.get('ready_pods', 0)} Ready)",
            "reth_cpu_percent_max": cpu,
            "reth_memory_percent_max": memory,
            "reth_usage": [f"{u['pod']} {u['cpu_millicores']}m {_human_bytes(u['memory_bytes'])}" for u in reth_usage],
            "connections": connections,
            "slow_log_lines": [line for line in triage.get("logs") or []
                               if any(word in line.lower() for word in SLOW_LINE)][-5:],
            "indexer_ready": indexer_ready,
        },
    }


class FilterModule:
    def filters(self):
        return {"rpc_degraded_cause": rpc_degraded_cause}
