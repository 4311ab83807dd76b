# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filters for rpc-down (runbook P0 "Complete loss of RPC access"): the decision and the recovery check.

    {{ rpc_down_reads | jeju.ops.rpc_down_cause(k8s_triage_state, jeju_rpc_down, rate_limit_annotation,
                                                jeju_thresholds.block_stall_seconds) }}

rpc_down_reads: probes (one jeju.ops.rpc_probe result per public RPC URL, each with its url), service, endpoints
and ingress (the objects, {} when absent) and op_node (jeju.ops.op_node sync_status, failed_when false).
The public path is Ingress -> Service -> the Ready pods its selector matches (Endpoints) -> reth.

Causes, in the order they are looked for (the first that holds is the cause):
  not_down           every URL answers and the chain's head is fresh
  chain_down         the RPC is fine or not, but op-node's unsafe head is stale or op-node does not answer, and no
                     reth-side cause explains it: hand to network-down
  scaled_to_zero     reth has 0 replicas (or no pod at all): scale to the inventory's count
  out_of_memory      reth's pods are OOMKilled: raise the memory limit by the step, never above the maximum
  disk_full          no reth pod is Ready and its logs say "No space left on device": hand to high-resource's
                     log cleanup (a Ready reth's old lines of it are history, not the cause)
  crash              reth crash-loops for another reason: rollout restart
  selector_mismatch  Ready reth pods, but the Service's selector matches none of them: report the drift
  rate_limited       the Ingress's rate limit is below the inventory's floor: restore the inventory's value
  other              none of these: escalate with what was seen

    {{ rpc_down_probes | jeju.ops.rpc_down_recovery(rpc_down_heads, op_node_status, latency_ms) }}

judges the recovery: every URL answers eth_blockNumber under the latency threshold (rpc_probe), and its head
(chain_head of that URL alone) is within a few blocks of op-node's unsafe head.
"""

from __future__ import annotations

import time

CAUSES = {
    "not_down": "Not down: every public RPC URL answers and the chain's head is fresh",
    "chain_down": "The chain itself is down: op-node's unsafe head is stale or op-node does not answer",
    "scaled_to_zero": "reth is scaled to 0 (or has no pod): nothing serves the public RPC",
    "out_of_memory": "reth is OOMKilled: its memory limit is too small for its state",
    "disk_full": "reth's disk is full (No space left on device)",
    "crash": "reth crash-loops (no known cause in its logs)",
    "selector_mismatch": "The reth Service's selector matches no Ready pod: its Endpoints are empty",
    "rate_limited": "The public Ingress's rate limit is far below the inventory's floor",
    "other": "The public RPC does not answer and no known cause was found",
}
DISK_FULL = "No space left on device"


def _answers(probe):
    return "error_rate" in probe and float(probe.get("error_rate") or 0) == 0.0


def _head_age(op_node, now):
    status = (op_node or {}).get("sync_status") or {}
    stamp = (status.get("unsafe_l2") or {}).get("timestamp")
    return None if stamp is None else round(max(0.0, now - float(stamp)), 1)


def _ready_addresses(endpoints):
    return sum(len(s.get("addresses") or []) for s in (endpoints or {}).get("subsets") or [])


def _selector_matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _rpm(ingress, annotation):
    value = ((ingress.get("metadata") or {}).get("annotations") or {}).get(annotation)
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _cause(reads, triage, settings, annotation, stall, now):
    probes = reads.get("probes") or []
    op_node = reads.get("op_node") or {}
    age = _head_age(op_node, now)
    chain_down = age is None or age > float(stall)
    if probes and all(_answers(p) for p in probes):
        return "chain_down" if chain_down else "not_down"
    deployment, pods = triage.get("deployment") or {}, triage.get("pods") or []
    logs = triage.get("logs") or []
    if deployment.get("found") and (int(deployment.get("replicas") or 0) == 0 or not pods):
        return "scaled_to_zero"
    if any(p.get("last_terminated_reason") == "OOMKilled" for p in pods if not p.get("ready")):
        return "out_of_memory"
    serving = any(p.get("ready") for p in pods)
    if not serving and any(DISK_FULL in line for line in logs[-50:]):
        return "disk_full"  # a Ready reth's old "No space" lines are history: the disk was freed since
    if pods and not serving:
        return "crash"
    service = reads.get("service") or {}
    if triage.get("ready_pods", 0) > 0 and service and _ready_addresses(reads.get("endpoints")) == 0:
        return "selector_mismatch"
    rpm = _rpm(reads.get("ingress") or {}, annotation)
    if rpm is not None and rpm < float(settings["rate_limit_floor_rpm"]):
        return "rate_limited"
    return "chain_down" if chain_down else "other"


def rpc_down_cause(reads, triage, settings, annotation, stall_seconds, now=None):
    now = time.time() if now is None else now
    cause = _cause(reads, triage, settings, annotation, stall_seconds, now)
    service, ingress = reads.get("service") or {}, reads.get("ingress") or {}
    selector = (service.get("spec") or {}).get("selector") or {}
    pod_labels = {p["name"]: p.get("labels", {}) for p in triage.get("pods") or []}
    deployment = triage.get("deployment") or {}
    probes = reads.get("probes") or []
    return {
        "cause": cause,
        "cause_text": CAUSES[cause],
        "healthy": cause == "not_down",
        "container": deployment.get("container", ""),
        "replicas": int(deployment.get("replicas") or 0),
        "rate_limit_rpm": _rpm(ingress, annotation),
        "service": (service.get("metadata") or {}).get("name", ""),
        "selector": selector,
        "pod_labels": pod_labels,
        "evidence": {
            "public_rpc": [f"{p.get('url', '?')}: " + (
                "answers" if _answers(p) else "; ".join(p.get("reasons") or [p.get("msg", "no answer")]))
                for p in probes],
            "reth": f"{deployment.get('replicas')} replicas, {triage.get('ready_pods', 0)} Ready",
            "reth_pods": [f"{p['name']} ready={p.get('ready')} restarts={p.get('restarts')} "
                          f"{p.get('waiting_reason') or ''} {p.get('last_terminated_reason') or ''}".strip()
                          for p in triage.get("pods") or []],
            "service_selector": selector,
            "endpoints_ready": _ready_addresses(reads.get("endpoints")),
            "selector_matches": [n for n, labels in pod_labels.items() if _selector_matches(selector, labels)],
            "ingress_rate_limit_rpm": _rpm(ingress, annotation),
            "op_node_head_age_seconds": _head_age(reads.get("op_node") or {}, now),
            "reth_log_tail": (triage.get("logs") or [])[-5:],
        },
    }


def rpc_down_recovery(probes, heads, op_node, latency_ms, lag_blocks=2):
    """Every URL answers, under the latency threshold, within `lag_blocks` of op-node's unsafe head."""
    head = (op_node or {}).get("unsafe_l2_number")
    problems = []
    for probe, url_head in zip(probes or [], heads or [{}] * len(probes or []), strict=False):
        url = probe.get("url", "?")
        if not _answers(probe):
            problems.append(f"{url}: {'; '.join(probe.get('reasons') or [probe.get('msg', 'no answer')])}")
        elif float(probe.get("p95_ms") or 0) > float(latency_ms):
            problems.append(f"{url}: p95 {probe.get('p95_ms')} ms (over {latency_ms} ms)")
        elif head is not None and url_head.get("number") is not None and (
                int(head) - int(url_head["number"]) > lag_blocks):
            problems.append(f"{url}: at block {url_head['number']}, op-node at {head}")
    if not probes:
        problems.append("no public RPC URL to check")
    p95 = max((float(p.get("p95_ms") or 0) for p in probes or []), default=0.0)
    return {"ok": not problems, "failure": "; ".join(problems),
            "proof": f"{len(probes or [])} public RPC URL(s) answer eth_blockNumber, p95 {p95} ms, at op-node's head"}


class FilterModule:
    def filters(self):
        return {"rpc_down_cause": rpc_down_cause, "rpc_down_recovery": rpc_down_recovery}
