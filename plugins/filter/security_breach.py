# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filter security_breach_evidence (runbook "P0: Security Breach / Exploit"): what the first look saw.

    {{ breach_evidence_snapshots.before | jeju.ops.security_breach_evidence }}

A breach is declared by the operator (or an alert), not classified: the run always pauses and stops. This says
what the evidence snapshot (jeju.ops.contract_activity) found: cause breach, cause_text, healthy (false) and the
evidence (window, transactions to the watched contracts, outflows, suspects, balances).

    {{ deployments | jeju.ops.stopped_components(names, op_node_name, emergency_stop_sequencer) }}

the stopped components with their replicas and op-node's last unsafe head.
"""

from __future__ import annotations

WEI = 10**18


def _eth(wei):
    try:
        return round(int(wei) / WEI, 6)
    except (TypeError, ValueError):
        return None


def security_breach_evidence(snapshot):
    snapshot = snapshot or {}
    outflows = snapshot.get("outflows") or []
    suspects = snapshot.get("suspects") or []
    out_eth = sum(_eth(o.get("wei", 0)) or 0 for o in outflows)
    return {
        "cause": "breach",
        "cause_text": (f"Security breach response: {len(snapshot.get('transactions') or [])} transactions to the "
                       f"watched contracts and {out_eth} ETH out in blocks {snapshot.get('from_block')}-"
                       f"{snapshot.get('to_block')}"),
        "healthy": False,
        "evidence": {
            "window": f"blocks {snapshot.get('from_block')}-{snapshot.get('to_block')}",
            "transactions": len(snapshot.get("transactions") or []),
            "outflow_eth": out_eth,
            "suspects": [f"{s.get('address')} ({_eth(s.get('outflow_wei'))} ETH, {s.get('source')})" for s in suspects],
            "balances_eth": {name: _eth(wei) for name, wei in (snapshot.get("balances_wei") or {}).items()},
        },
    }


def stopped_components(deployments, names, op_node, sequencer):
    """The stopped components with their replicas and, for op-node, the unsafe head it was stopped at."""
    stopped = []
    for item in deployments or []:
        name = (item.get("metadata") or {}).get("name")
        if name not in names:
            continue
        is_op_node = name == op_node
        stopped.append({"deployment": name, "replicas": (item.get("spec") or {}).get("replicas"),
                        "last_unsafe_head_hash": (sequencer or {}).get("unsafe_head_hash") if is_op_node else None,
                        "last_unsafe_l2_number": (sequencer or {}).get("unsafe_l2_number") if is_op_node else None})
    return stopped


class FilterModule:
    def filters(self):
        return {"security_breach_evidence": security_breach_evidence, "stopped_components": stopped_components}
