# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filters for network-down (runbook "P0: Network Down (No Block Production)"): the decision and the recovery check.

    {{ chain_health_probe | jeju.ops.network_down_cause(k8s_triage_state, jeju_op_env.op_node_l1_rpc) }}

returns the cause (one of CAUSES), its sentence, the evidence an on-call engineer reads, and the facts the fix
for that cause needs (the container, the L1 URL before and the first healthy backup, the stuck pods, the data
PVC and its newest ready VolumeSnapshot, the cordoned Ready node to uncordon for an unschedulable pod, each pod's
restart count at diagnosis, the bad block's number).

    {{ k8s_triage_state | jeju.ops.network_down_new_restarts(network_down.restarts_at_diagnosis) }}

names the pods that restarted since the diagnosis: a pod seen then whose count went up, or a new pod that has
restarted at all.

    {{ chain_health_verify | jeju.ops.network_down_recovery(k8s_triage_state, network_down_cause_result,
                                                            jeju_network_down) }}

judges the recovery: ok, proof (what was seen when it recovered) and failure (what is still wrong).
"""

from __future__ import annotations

import re

CAUSES = {
    "not_down": "Not down: L2 blocks are fresh and op-node is Ready",
    "node_lost": "Kubernetes node failure: op-node's node is NotReady and its pod is stuck",
    "unschedulable": "Unschedulable: op-node's pod is Pending, no node takes it (cordoned by a drain or upgrade)",
    "out_of_memory": "Out of memory: op-node is OOMKilled",
    "volume_corrupt": "Volume corrupt: op-node cannot open its data volume",
    "bad_block": "Bad block: derivation fails on an invalid block",
    "l1_rpc_down": "L1 RPC failure: the primary Base RPC does not answer, a backup does",
    "crash": "Crash: op-node crash-loops (no known cause in the logs)",
}
# Log signatures of op-node (logfmt msg texts of the op-stack).
L1_FETCH = "failed to fetch L1 block"
INVALID_BLOCK = "invalid block"
CORRUPTION = "corruption"
RECENT_FAILURE = re.compile(f"{L1_FETCH}|{INVALID_BLOCK}|{CORRUPTION}|lvl=crit")
BAD_BLOCK_NUMBER = re.compile(r"process block (\d+)")
RECENT_LINES = 10
POD_FACTS = ("phase", "ready", "restarts", "waiting_reason", "last_terminated_reason", "node", "node_ready")


def _lines(logs, needle):
    return [line for line in logs if needle in line]


def _stuck_pods(pods):
    on_lost_node = [p for p in pods if p.get("node") and not p.get("node_ready")]
    return on_lost_node + [p for p in pods if p.get("phase") == "Unknown"]


def _unschedulable_pods(pods):
    return [p for p in pods if p.get("unschedulable") and not p.get("deleting")]


def _uncordon_candidate(triage):
    """A Ready node that is only cordoned: where op-node's pod goes once it is uncordoned ('' when none). Taints,
    affinity or a NotReady node are no cordon's doing: then nobody uncordons anything, a human decides."""
    scheduling = " ".join(p["unschedulable"] for p in _unschedulable_pods(triage.get("pods", [])))
    if "were unschedulable" not in scheduling:
        return ""
    ready_cordoned = [n["name"] for n in triage.get("nodes", []) if n.get("cordoned") and n.get("ready")]
    return ready_cordoned[0] if ready_cordoned else ""


def _cause(probe, triage, logs):
    ready = triage.get("ready_pods", 0)
    recent_failure = any(RECENT_FAILURE.search(line) for line in logs[-RECENT_LINES:])
    if not probe["l2"].get("stalled") and ready > 0 and not recent_failure:
        return "not_down"
    if _stuck_pods(triage.get("pods", [])):
        return "node_lost"
    if ready == 0 and _unschedulable_pods(triage.get("pods", [])):
        return "unschedulable"
    if any(p.get("last_terminated_reason") == "OOMKilled" for p in triage.get("pods", [])):
        return "out_of_memory"
    if _lines(logs, CORRUPTION) and ready == 0:
        return "volume_corrupt"
    if _lines(logs, INVALID_BLOCK) and ready > 0:
        return "bad_block"
    if not probe.get("l1_primary_ok") and _lines(logs, L1_FETCH):
        return "l1_rpc_down"
    return "crash"


def _bad_block(logs):
    lines = _lines(logs, INVALID_BLOCK)
    found = BAD_BLOCK_NUMBER.search(lines[-1]) if lines else None
    return found.group(1) if found else "unknown"


def _evidence(probe, triage, logs):
    l2, op_node = probe["l2"], probe["op_node"]
    age = l2.get("age_seconds")
    return {
        "l2_head": (f"block {l2.get('number')}, {'?' if age is None else age} s old (stalled after "
                    f"{l2.get('stall_seconds')} s): {'stalled' if l2.get('stalled') else 'fresh'}"),
        "op_node_rpc": (f"unsafe {op_node.get('unsafe_l2_number')}, safe {op_node.get('safe_l2_number')}"
                        if op_node.get("reachable") else f"unreachable: {op_node.get('error')}"),
        "pods": {p["name"]: {k: p.get(k) for k in POD_FACTS} for p in triage.get("pods", [])},
        "not_ready_nodes": triage.get("not_ready_nodes", []),
        "cordoned_nodes": triage.get("cordoned_nodes", []),
        "scheduling": sorted({p["unschedulable"].split(" preemption:")[0]
                              for p in _unschedulable_pods(triage.get("pods", []))}),
        "l1_endpoints": [f"{e['role']}: {e.get('error') or 'answers'}" for e in probe.get("l1", [])],
        "log_signatures": {
            "l1_fetch_errors": len(_lines(logs, L1_FETCH)),
            "invalid_block": len(_lines(logs, INVALID_BLOCK)),
            "corruption": len(_lines(logs, CORRUPTION)),
            "failure_in_last_10_lines": any(RECENT_FAILURE.search(line) for line in logs[-RECENT_LINES:]),
        },
        "pvcs": [f"{c['name']}: {c.get('phase', '')}" for c in triage.get("pvcs", [])],
    }


def network_down_cause(probe, triage, l1_env):
    """The cause of a network-down from the chain probe (role chain_health) and the triage (role k8s_triage)."""
    logs = list(triage.get("logs") or [])
    cause = _cause(probe, triage, logs)
    deployment = triage.get("deployment", {})
    pods = triage.get("pods", [])
    stuck = [p["name"] for p in _stuck_pods(pods)] + [p["name"] for p in triage.get("stranded_pods", [])]
    ready_snapshots = [s for s in triage.get("snapshots", []) if s.get("ready")]
    data_pvc = (deployment.get("claims") or [""])[0]
    return {
        "cause": cause,
        "cause_text": CAUSES[cause],
        "healthy": cause == "not_down",
        "bad_block": _bad_block(logs),
        "evidence": _evidence(probe, triage, logs),
        "container": deployment.get("container", ""),
        "l1_url_before": deployment.get("env", {}).get(l1_env, ""),
        "l1_backup": (probe.get("l1_healthy_backups") or [""])[0],
        "stuck_pods": list(dict.fromkeys(stuck)),
        "data_pvc": data_pvc,
        "data_volume": next((v for v, claim in (deployment.get("volumes") or {}).items() if claim == data_pvc), "data"),
        "newest_snapshot": ready_snapshots[0]["name"] if ready_snapshots else "",
        "uncordon_node": _uncordon_candidate(triage) if cause == "unschedulable" else "",
        "restarts_at_diagnosis": {p["name"]: p.get("restarts", 0) for p in pods},
    }


def network_down_new_restarts(triage, restarts_at_diagnosis):
    """Pods that restarted after the diagnosis (seen then with a lower count, or new and restarted since)."""
    before = restarts_at_diagnosis or {}
    return [p["name"] for p in triage.get("pods", [])
            if p.get("restarts", 0) > int(before.get(p["name"], 0))]


def network_down_recovery(verify, triage, diagnosis, settings):
    """Recovered: enough new L2 blocks in the window, the sequencer active, op-node's pods Ready, none restarted."""
    new_restarts = network_down_new_restarts(triage, diagnosis.get("restarts_at_diagnosis"))
    pods = triage.get("pods", [])
    ready = triage.get("ready_pods", 0)
    problems = []
    if not verify.get("blocks_ok"):
        problems.append(f"{verify.get('blocks_advanced')} new L2 block(s) in {verify.get('waited_seconds')} s "
                        f"(need {settings['verify_blocks']} within {settings['verify_window_seconds']} s)")
    if not verify.get("sequencer_active"):
        error = f" ({verify['sequencer_error']})" if verify.get("sequencer_error") else ""
        problems.append("the sequencer is not active" + error)
    if ready < 1 or any(not p.get("ready") for p in pods):
        problems.append(f"op-node pods Ready {ready}/{len(pods)}")
    if new_restarts:
        problems.append(f"pods with new restarts {new_restarts}")
    return {
        "ok": not problems,
        "proof": (f"{verify.get('blocks_advanced')} new L2 blocks in {verify.get('waited_seconds')} s, op-node Ready, "
                  "sequencer active"),
        "failure": "; ".join(problems),
        "new_restarts": new_restarts,
    }


class FilterModule:
    def filters(self):
        return {"network_down_cause": network_down_cause, "network_down_new_restarts": network_down_new_restarts,
                "network_down_recovery": network_down_recovery}
