# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filters for data-corruption (runbook P0 "Data loss or corruption", "Recovery Steps" 1-4 with "3. If volume
corrupted, restore from backup").

    {{ {'op_node': op_node_triage, 'reth': reth_triage} | jeju.ops.data_corruption_cause(jeju_deployments) }}

looks at op-node's and reth's pods and logs (role k8s_triage) for a corrupt data volume: the logs' corruption
signatures on a component whose pods are not Ready. Returns cause (not_corrupt, op_node_volume, reth_volume, or
no_snapshot when the corrupt volume has no ready VolumeSnapshot), cause_text, healthy, and what the restore needs:
component (the jeju_deployments key), deployment, volume (the pod template's volume name), pvc (its claim now),
snapshot (the newest ready one of that claim, or of the claim it replaced by an earlier restore).

    {{ 'op-node-data' | jeju.ops.restored_pvc_name(jeju_now) }}   -> op-node-data-restored-20261201t135114z

the name of the PVC a restore creates (the old one is kept).

    {{ readings | jeju.ops.data_corruption_recovery(component, lag_blocks) }}

judges the recovery: the component's pods Ready, and op-node producing blocks (op-node) or reth's head caught up
with op-node's unsafe head (reth).
"""

from __future__ import annotations

import re

CAUSES = {
    "not_corrupt": "No corrupt data volume: op-node and reth are Ready and their logs show no corruption",
    "op_node_volume": "op-node's data volume is corrupt: op-node cannot open its database",
    "reth_volume": "reth's data volume is corrupt: reth cannot open its database",
    "no_snapshot": "A data volume is corrupt and no ready VolumeSnapshot of it exists",
}
# Log signatures of a corrupt database, per component (op-node's leveldb/pebble, reth's MDBX).
SIGNATURES = {"op_node": re.compile(r"corruption|checksum mismatch", re.I),
              "reth": re.compile(r"MDBX_CORRUPTED|database is corrupted|corruption", re.I)}
DATA_VOLUME = "data"
NAME_LIMIT = 253


def _corrupt(triage, component):
    pods = triage.get("pods") or []
    lines = [line for line in triage.get("logs") or [] if SIGNATURES[component].search(line)]
    not_ready = bool(pods) and not any(p.get("ready") for p in pods)
    return not_ready and bool(lines), lines


def data_corruption_cause(triages, deployments):
    found = {}
    for component in ("op_node", "reth"):
        triage = triages.get(component) or {}
        corrupt, lines = _corrupt(triage, component)
        found[component] = {"corrupt": corrupt, "lines": lines[-3:], "triage": triage}
    component = next((c for c in ("op_node", "reth") if found[c]["corrupt"]), "")
    evidence = {c: {"ready_pods": found[c]["triage"].get("ready_pods", 0),
                    "pods": [f"{p['name']} ready={p.get('ready')} restarts={p.get('restarts')} "
                             f"{p.get('last_terminated_reason') or ''}".strip()
                             for p in found[c]["triage"].get("pods") or []],
                    "corruption_lines": found[c]["lines"],
                    "volumes": (found[c]["triage"].get("deployment") or {}).get("volumes", {}),
                    "ready_snapshots": [s["name"] for s in found[c]["triage"].get("snapshots") or [] if s.get("ready")]}
                for c in ("op_node", "reth")}
    if not component:
        return {"cause": "not_corrupt", "cause_text": CAUSES["not_corrupt"], "healthy": True, "component": "",
                "evidence": evidence}
    triage = found[component]["triage"]
    volumes = (triage.get("deployment") or {}).get("volumes") or {}
    pvc = volumes.get(DATA_VOLUME) or ((triage.get("deployment") or {}).get("claims") or [""])[0]
    # k8s_triage lists the snapshots of the Deployment's claims and of the claims they replaced, newest first.
    ready = [s for s in triage.get("snapshots") or [] if s.get("ready")]
    cause = f"{component}_volume" if ready else "no_snapshot"
    return {
        "cause": cause,
        "cause_text": CAUSES[cause] if ready else f"{CAUSES['no_snapshot']} ({deployments[component]}: {pvc})",
        "healthy": False,
        "component": component,
        "deployment": deployments[component],
        "volume": DATA_VOLUME if DATA_VOLUME in volumes else next(iter(volumes), DATA_VOLUME),
        "pvc": pvc,
        "snapshot": ready[0]["name"] if ready else "",
        "replicas": max(1, int((triage.get("deployment") or {}).get("replicas") or 1)),
        "evidence": evidence,
    }


def restored_pvc_name(pvc, now):
    """`<pvc>-restored-<time>` (lower case, no separators), cut to Kubernetes' name limit."""
    stamp = re.sub(r"[^0-9a-z]", "", str(now).lower())
    base = re.sub(r"-restored-[0-9a-z]+$", "", str(pvc))
    return f"{base}-restored-{stamp}"[:NAME_LIMIT]


def data_corruption_recovery(readings, component, lag_blocks=2):
    triage = readings.get("triage") or {}
    pods = triage.get("pods") or []
    problems = []
    if not pods or not all(p.get("ready") for p in pods):
        problems.append(f"pods Ready {triage.get('ready_pods', 0)}/{len(pods)}")
    if component == "op_node":
        verify = readings.get("chain") or {}
        if not verify.get("blocks_ok"):
            problems.append(f"{verify.get('blocks_advanced')} new L2 block(s) in {verify.get('waited_seconds')} s")
        proof = f"op-node Ready, {verify.get('blocks_advanced')} new L2 blocks in {verify.get('waited_seconds')} s"
    else:
        head = (readings.get("head") or {}).get("number")
        unsafe = (readings.get("op_node") or {}).get("unsafe_l2_number")
        if head is None or unsafe is None or int(unsafe) - int(head) > lag_blocks:
            problems.append(f"reth at block {head}, op-node's unsafe head {unsafe}")
        proof = f"reth Ready, at block {head} with op-node's unsafe head {unsafe}"
    return {"ok": not problems, "proof": proof, "failure": "; ".join(problems)}


class FilterModule:
    def filters(self):
        return {"data_corruption_cause": data_corruption_cause, "restored_pvc_name": restored_pvc_name,
                "data_corruption_recovery": data_corruption_recovery}
