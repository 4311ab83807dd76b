# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filter proposer_stuck_cause (runbook "P1: Proposer Stuck (No State Roots)"): the decision.

    {{ proposer_stuck_reads | jeju.ops.proposer_stuck_cause(k8s_triage_state, jeju_addresses.proposer,
                                                            jeju_thresholds.output_stall_seconds) }}
    {{ proposer_stuck_verify | jeju.ops.output_recovered(incident_cause.index_before) }}

proposer_stuck_reads: oracle (jeju.ops.output_oracle with recent_outputs), sync (jeju.ops.op_node sync_status,
failed_when false), balance (jeju.ops.account_balance of the proposer) and reach (whether op-proposer's pod
reaches op-node: ok, pod, command, summary).

In L2OutputOracle mode the proposer proposes only once finalized_l2 >= nextBlockNumber(): a stalled batcher
stops proposals with no error, so the safe and finalized heads are read before the proposer is blamed.
"""

from __future__ import annotations

import re

CAUSES = {
    "not_stuck": "Not stuck: outputs are fresh, match op-node and the proposer is funded and reaches op-node",
    "conflicting_output": "Conflicting output root: an on-chain output differs from the root op-node computes",
    "unfunded": "Low ETH balance: the proposer cannot pay for proposals",
    "op_node_unreachable": "Cannot sync with the sequencer: op-proposer cannot reach op-node's RPC",
    "op_node_down": "op-node's RPC does not answer at all: the proposer has nothing to propose from",
    "batcher_stalled": "Silent stall: the finalized L2 head is below the oracle's next block (batches stopped)",
    "other": "Outputs are overdue and no known cause was found",
}
ERROR_LINE = re.compile(r"lvl=(error|eror|crit)")
RUNBOOK_NOTE = ("The runbook checks op-node at http://op-node:8547/health; op-node's RPC listens on 9545 (8547 is "
                "not op-node's port), so the probe asks op-node's RPC port.")


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def proposer_stuck_cause(reads, triage, proposer_address, stall_seconds):
    oracle, sync = reads.get("oracle") or {}, reads.get("sync") or {}
    balance, reach = reads.get("balance") or {}, reads.get("reach") or {}
    sync_ok = not sync.get("failed") and sync.get("finalized_l2_number") is not None
    overdue = not oracle.get("proposed") or _int(oracle.get("age_seconds")) > _int(stall_seconds)
    ours = str(oracle.get("proposer") or "").lower() == str(proposer_address).lower()
    mismatched = oracle.get("mismatched_outputs") or []
    if mismatched:
        cause = "conflicting_output"
    elif "proposer" in (balance.get("below_min") or []):
        cause = "unfunded"
    elif not sync_ok:
        cause = "op_node_down"
    elif not reach.get("ok"):
        cause = "op_node_unreachable"
    elif not overdue:
        cause = "not_stuck"
    elif _int(sync.get("finalized_l2_number")) < _int(oracle.get("next_block_number")):
        cause = "batcher_stalled"
    else:
        cause = "other"
    latest = oracle.get("latest_output") or {}
    proposer = (balance.get("balances") or {}).get("proposer") or {}
    errors = [line for line in triage.get("logs") or [] if ERROR_LINE.search(line)]
    return {
        "cause": cause,
        "cause_text": CAUSES[cause],
        "healthy": cause == "not_stuck",
        "ours": ours,
        "index_before": oracle.get("latest_index"),
        "bad_output": mismatched[0] if mismatched else {},
        "evidence": {
            "latest_output": (
                f"index {oracle.get('latest_index')} at L2 block {latest.get('l2_block_number')}, "
                f"{oracle.get('age_seconds')} s old (overdue after {stall_seconds} s)"
                if oracle.get("proposed") else "none proposed yet"),
            "next_block_number": oracle.get("next_block_number"),
            "oracle_proposer": f"{oracle.get('proposer')} ({'ours' if ours else 'NOT ours'})",
            "mismatched_outputs": mismatched,
            "op_node_heads": (
                f"unsafe {sync.get('unsafe_l2_number')}, safe {sync.get('safe_l2_number')}, "
                f"finalized {sync.get('finalized_l2_number')}"
                if sync_ok else f"unreachable: {sync.get('msg', 'no answer')}"),
            "proposer_balance_eth": f"{proposer.get('eth')} (minimum {proposer.get('min_eth')})",
            "op_node_from_proposer_pod": reach.get("summary", ""),
            "proposer_pods": [f"{p['name']} ready={p['ready']}" for p in triage.get("pods") or []],
            "proposer_error_lines": errors[-5:],
            "runbook_note": RUNBOOK_NOTE,
        },
    }


def proposer_reach(exec_result, pod):
    """What `curl` from inside op-proposer's pod said (kubernetes.core.k8s_exec's result), as ok and a summary."""
    if not pod:
        return {"ok": False, "pod": None, "summary": "no Ready op-proposer pod to ask from"}
    result = exec_result or {}
    rc = result.get("rc", result.get("return_code"))
    if rc is None:
        return {"ok": False, "pod": pod, "summary": f"exec failed: {result.get('msg', 'no answer')}"}
    output = " ".join(str(result.get("stdout", "") + " " + result.get("stderr", "")).split())
    return {"ok": rc == 0, "pod": pod,
            "summary": "answers (curl exit 0)" if rc == 0 else f"curl exit {rc}: {output}".rstrip(": ")}


def output_recovered(oracle, index_before):
    """A new output since the diagnosis (any output when there was none) whose root matches op-node's."""
    latest = oracle.get("latest_index")
    if latest is None or oracle.get("mismatch") is not False:
        return False
    return index_before in (None, "") or int(latest) > int(index_before)


class FilterModule:
    def filters(self):
        return {"proposer_stuck_cause": proposer_stuck_cause, "proposer_reach": proposer_reach,
                "output_recovered": output_recovered}
