# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filters for bridge-stalled (deposits not included on L2, or withdrawals that cannot be proven): the decision
and the recovery check.

    {{ bridge_stalled_reads | jeju.ops.bridge_stalled_cause(jeju_bridge_stalled, jeju_thresholds,
                                                            jeju_op_env.op_node_l1_rpc) }}

bridge_stalled_reads: pipeline (jeju.ops.bridge_pipeline, failed_when false), op_node (role k8s_triage's state of
op-node: its container and env) and freeze (the ConfigMaps labelled jeju.network/freeze=security).

The pipeline is read stage by stage and the first stage that stalls is the cause; the playbook hands each one to
the incident that fixes it:

    frozen              a security freeze stands: the pause and the stopped components are expected, nothing to do
    paused              the portal (or the SuperchainConfig) is paused and no freeze explains it
    l1_down             no L1 endpoint answers
    chain_halted        op-node does not answer, or its unsafe head stopped: nothing is included
    l1_stale            op-node's own view of L1's head lags: its L1 origin stops while it still seals blocks
    derivation_stalled  op-node sees L1's head but its derivation or L1 origin does not follow
    deposits_dropped    due deposits are missing on L2 although the L1 origin passed their blocks
    batches_stalled     the safe head stops: batches do not land, so outputs and withdrawals stop
    outputs_stalled     outputs are overdue while the safe head moves: the proposer is stuck
    l2_unreadable       no L2 endpoint answers: deposits cannot be checked
    flowing             none of these: deposits are included in time, outputs are fresh, nothing is paused

    {{ bridge_stalled_after | jeju.ops.bridge_stalled_recovered(from_block, jeju_bridge_stalled, jeju_thresholds,
                                                               incident_cause.cause) }}

judges the recovery: a deposit made at or after L1 block `from_block` (the head once the fix was in) is on L2,
op-node's L1 origin follows L1's head, and the stage that stalled follows again (the safe head for
batches_stalled, a fresh output for outputs_stalled). `quiet` says that no deposit was made since (nothing to
prove it with) while the rest holds.
"""

from __future__ import annotations

CAUSES = {
    "flowing": "Flowing: deposits are included in time, op-node follows L1, outputs are fresh and nothing is paused",
    "frozen": "Security freeze: the bridge is stopped on purpose (paused portal, stopped components); expected, "
              "nothing to change until the freeze is lifted",
    "paused": "Paused: the OptimismPortal is paused and no security freeze explains it (withdrawals cannot be "
              "proven or finalized)",
    "l1_down": "No L1 (Base) endpoint answers: deposits and op-node's L1 view cannot be read",
    "chain_halted": "The L2 chain is halted (op-node does not answer or its unsafe head stopped): nothing is included",
    "l1_stale": "op-node's L1 RPC lags: its L1 origin stops while it still seals blocks, so deposits are not included",
    "derivation_stalled": "op-node sees L1's head but its derivation (L1 origin) does not follow",
    "deposits_dropped": "Deposits are missing on L2 although op-node's L1 origin passed their L1 blocks",
    "batches_stalled": "The safe head stalls: batches are not landing, so outputs and withdrawals stop",
    "outputs_stalled": "Outputs are overdue while the safe head moves: the proposer is stuck, withdrawals cannot be "
                       "proven",
    "l2_unreadable": "No L2 endpoint answers: whether deposits are included cannot be checked",
}
FROZEN = "frozen"
MISSING_SHOWN = 5


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _freeze(configmaps):
    """The standing freeze (its data), or None: a ConfigMap whose state is frozen (a lifted one says lifted)."""
    for item in configmaps or []:
        data = (item or {}).get("data") or {}
        if data.get("state", FROZEN) == FROZEN:
            return data
    return None


def _lag(op_node, name):
    return _int((op_node.get("lag_blocks") or {}).get(name))


def _gap_seconds(op_node, newer, older):
    """How far the `older` L2 head's time is behind the `newer` one's (seconds), None when unknown."""
    new, old = _int((op_node.get(newer) or {}).get("timestamp")), _int((op_node.get(older) or {}).get("timestamp"))
    return None if new is None or old is None else new - old


def _output_overdue(oracle, stall_seconds):
    if not oracle or oracle.get("error") or "proposed" not in oracle:
        return False
    return not oracle["proposed"] or (_int(oracle.get("age_seconds"), 0) > _int(stall_seconds, 0))


def _stage(pipeline, freeze, window, thresholds):
    l1, op_node = pipeline.get("l1") or {}, pipeline.get("op_node") or {}
    paused = pipeline.get("paused") or {}
    unsafe_age = (op_node.get("unsafe_l2") or {}).get("age_seconds")
    derivation = max(_lag(op_node, "current_l1") or 0, _lag(op_node, "unsafe_l1_origin") or 0)
    checks = (
        ("frozen", freeze is not None),
        ("paused", bool(paused.get("portal") or paused.get("superchain_config"))),
        ("l1_down", not l1.get("ok")),
        ("chain_halted", not op_node.get("reachable")
         or (unsafe_age is not None and float(unsafe_age) > float(thresholds["block_stall_seconds"]))),
        ("l1_stale", (_lag(op_node, "head_l1") or 0) > window),
        ("derivation_stalled", derivation > window),
        ("deposits_dropped", _int((pipeline.get("window") or {}).get("missing"), 0) > 0),
        ("batches_stalled", (_gap_seconds(op_node, "unsafe_l2", "safe_l2") or 0)
         > _int(thresholds["batch_stall_seconds"], 0)),
        ("outputs_stalled", _output_overdue(pipeline.get("oracle"), thresholds["output_stall_seconds"])),
        ("l2_unreadable", not (pipeline.get("l2") or {}).get("ok")),
    )
    return next((cause for cause, stalls in checks if stalls), "flowing")


def _backup(endpoints, current_url, lag_blocks):
    """The first L1 endpoint that is current (within lag_blocks of L1's head) and is not op-node's own."""
    for endpoint in endpoints:
        if endpoint.get("ok") and _int(endpoint.get("lag_blocks"), 10**9) <= lag_blocks \
                and endpoint.get("url") != current_url:
            return endpoint["url"]
    return ""


def _head_text(ref):
    ref = ref or {}
    age = ref.get("age_seconds")
    return f"{ref.get('number')}" + ("" if age is None else f" ({age} s old)")


def _deposits_text(window, deposits):
    if not window or window.get("error"):
        return f"not read: {(window or {}).get('error', 'no L1 endpoint answered')}"
    text = (f"{window.get('seen')} in L1 blocks {window.get('from_block')}-{window.get('to_block')}: "
            f"{window.get('included')} included on L2, {window.get('missing')} due (older than "
            f"{window.get('window_blocks')} L1 blocks) and not on L2")
    oldest = window.get("oldest_missing")
    if oldest:
        text += (f"; oldest missing: L1 block {oldest.get('l1_block')} (tx {oldest.get('l1_tx_hash')}), "
                 f"{oldest.get('age_blocks')} L1 blocks old, expected L2 tx {oldest.get('l2_tx_hash')}")
    if any(d.get("included") is None for d in deposits):
        text += "; inclusion unknown (L2 did not answer)"
    return text


def _evidence(pipeline, freeze, l1_env, current_url, window):
    l1, op_node = pipeline.get("l1") or {}, pipeline.get("op_node") or {}
    oracle, paused = pipeline.get("oracle") or {}, pipeline.get("paused") or {}
    lags = op_node.get("lag_blocks") or {}
    latest = oracle.get("latest_output") or {}
    deposits = pipeline.get("deposits") or []
    return {
        "l1_head": (f"block {l1.get('head')} ({l1.get('age_seconds')} s old) at {l1.get('endpoint')}"
                    if l1.get("ok") else f"unreadable: {l1.get('error') or pipeline.get('msg', 'no answer')}"),
        "l1_endpoints": [f"{e.get('role')} {e.get('endpoint')}: " + (
            f"block {e.get('number')}, {e.get('lag_blocks')} behind, {e.get('age_seconds')} s old" if e.get("ok")
            else f"error: {e.get('error')}") for e in l1.get("endpoints") or []],
        "op_node_l1": (
            f"head_l1 {_head_text(op_node.get('head_l1'))} ({lags.get('head_l1')} behind), derivation current_l1 "
            f"{(op_node.get('current_l1') or {}).get('number')} ({lags.get('current_l1')} behind), unsafe head's "
            f"L1 origin {(op_node.get('unsafe_l2') or {}).get('l1_origin')} ({lags.get('unsafe_l1_origin')} "
            f"behind); stalled beyond {window} L1 blocks"
            if op_node.get("reachable") else f"op-node does not answer: {op_node.get('error')}"),
        "op_node_l1_rpc": f"{l1_env}={current_url or '(not read)'}",
        "l2_heads": (f"unsafe {_head_text(op_node.get('unsafe_l2'))}, safe {_head_text(op_node.get('safe_l2'))}, "
                     f"finalized {_head_text(op_node.get('finalized_l2'))}" if op_node.get("reachable") else "unknown"),
        "deposits": _deposits_text(pipeline.get("window"), deposits),
        "missing_deposits": [{k: d.get(k) for k in ("l1_block", "l1_tx_hash", "l2_tx_hash", "from", "to", "mint_wei",
                                                    "age_blocks")}
                             for d in deposits if d.get("due") and d.get("included") is False][:MISSING_SHOWN],
        "latest_output": (f"index {oracle.get('latest_index')} at L2 block {latest.get('l2_block_number')}, "
                          f"{oracle.get('age_seconds')} s old" if oracle.get("proposed")
                          else oracle.get("error") or "none proposed yet"),
        "paused": (f"OptimismPortal paused: {paused.get('portal')}; SuperchainConfig paused: "
                   f"{paused.get('superchain_config')} (guardian {paused.get('guardian')})"),
        "security_freeze": (f"frozen by {freeze.get('frozen_by')} at {freeze.get('frozen_at')} (run "
                            f"{freeze.get('run_id')}): {freeze.get('reason')}" if freeze else "none"),
    }


def bridge_stalled_cause(reads, settings, thresholds, l1_env):
    """The first stage of the bridge that stalls, its evidence, and what the fix for it needs."""
    pipeline = reads.get("pipeline") or {}
    deployment = (reads.get("op_node") or {}).get("deployment") or {}
    freeze = _freeze(reads.get("freeze"))
    window = _int(settings["deposit_window_blocks"], 1)
    cause = _stage(pipeline, freeze, window, thresholds)
    current_url = (deployment.get("env") or {}).get(l1_env, "")
    endpoints = (pipeline.get("l1") or {}).get("endpoints") or []
    return {
        "cause": cause,
        "cause_text": CAUSES[cause],
        "healthy": cause in ("flowing", "frozen"),
        "evidence": _evidence(pipeline, freeze, l1_env, current_url, window),
        "l1_head": (pipeline.get("l1") or {}).get("head"),
        "l1_fresh_url": (pipeline.get("l1") or {}).get("url") or "",
        "missing_deposits": _int((pipeline.get("window") or {}).get("missing"), 0),
        "container": deployment.get("container", ""),
        "l1_url_before": current_url,
        "l1_backup": _backup(endpoints, current_url, _int(settings["endpoint_lag_blocks"], 0)),
        "freeze": freeze or {},
    }


def _stage_still_stalls(pipeline, cause, thresholds):
    """What is still wrong with the stage that stalled, beyond deposits: the safe head, or the outputs."""
    if not thresholds:
        return ""
    op_node = pipeline.get("op_node") or {}
    gap = _gap_seconds(op_node, "unsafe_l2", "safe_l2")
    if cause == "batches_stalled" and (gap is None or gap > _int(thresholds["batch_stall_seconds"], 0)):
        return f"the safe head is still {gap} s behind the unsafe head"
    oracle = pipeline.get("oracle") or {}
    if cause == "outputs_stalled" and _output_overdue(oracle, thresholds["output_stall_seconds"]):
        return f"the latest output is still {oracle.get('age_seconds')} s old" if oracle.get("proposed") \
            else "still no output proposed"
    return ""


def bridge_stalled_recovered(pipeline, from_block, settings, thresholds=None, cause=""):
    """A deposit made at or after `from_block` is on L2 and op-node's L1 origin follows L1's head; with `thresholds`,
    the stage `cause` named (the safe head, the outputs) follows again too."""
    pipeline = pipeline or {}
    start = _int(from_block, 0)
    window = _int(settings["deposit_window_blocks"], 1)
    after = [d for d in pipeline.get("deposits") or [] if _int(d.get("l1_block"), -1) >= start]
    included = [d for d in after if d.get("included")]
    op_node = pipeline.get("op_node") or {}
    origin_lag = _lag(op_node, "unsafe_l1_origin")
    following = op_node.get("reachable", False) and origin_lag is not None and origin_lag <= window
    stalls = _stage_still_stalls(pipeline, cause, thresholds)
    first = included[0] if included else {}
    return {
        "ok": bool(included) and following and not stalls,
        "included": bool(included),
        "quiet": not after and following and not stalls,
        "proof": (f"deposit {first.get('l1_tx_hash')} (L1 block {first.get('l1_block')}) made after the fix is "
                  f"on L2 as {first.get('l2_tx_hash')} in L2 block {first.get('l2_block')}; op-node's L1 origin "
                  f"is {origin_lag} L1 block(s) behind L1's head"),
        "quiet_proof": (f"no deposit was made on L1 since block {start}; op-node's L1 origin is {origin_lag} L1 "
                        "block(s) behind L1's head, so the next one will be derived"),
        "failure": (f"{len(after)} deposit(s) made since L1 block {start}, {len(included)} on L2; op-node's L1 "
                    f"origin is {origin_lag if origin_lag is not None else 'unknown'} L1 block(s) behind L1's head "
                    f"(stalled beyond {window})" + (f"; {stalls}" if stalls else "")),
    }


class FilterModule:
    def filters(self):
        return {"bridge_stalled_cause": bridge_stalled_cause, "bridge_stalled_recovered": bridge_stalled_recovered}
