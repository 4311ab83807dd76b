# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filter batcher_failing_cause (runbook "P1: Batcher Failing to Submit Batches"): the decision.

    {{ batcher_failing_reads | jeju.ops.batcher_failing_cause(k8s_triage_state, jeju_batcher_failing,
                                                              jeju_thresholds.batch_stall_seconds, jeju_op_env) }}

batcher_failing_reads holds the registered results of the diagnosis: batches (jeju.ops.batch_activity), l1
(jeju.ops.chain_head), fees (jeju.ops.fee_market), balances (jeju.ops.account_balance, absent when L1 does not
answer) and da (the eigenda-proxy /health answer, absent when the batcher does not use Alt-DA). A module that
failed under `failed_when: false` has no number: that is how a read that did not answer is told apart.

Returns cause (one of CAUSES), cause_text, healthy, evidence, and what the fixes need: container,
nonce_at_diagnosis, fee_limit_gwei (the batcher's now), fee_limit_new_gwei (what the spike needs: op-service
txmgr's fee cap of 2 x base fee + tip, rounded up to 100 gwei, at least the inventory's fee_limit_gwei),
altda_enabled.
"""

from __future__ import annotations

import math

CAUSES = {
    "not_failing": "Not failing: the batcher landed a batch on L1 within the stall window",
    "l1_down": "L1 (Base) does not answer or has stalled",
    "unfunded": "Insufficient ETH: the batcher is below its low mark and cannot pay for batch transactions",
    "gas_spike": "Gas spike: the L1 fee is above the batcher's fee limit (OP_BATCHER_TXMGR_FEE_LIMIT_THRESHOLD)",
    "da_down": "EigenDA down: eigenda-proxy is unhealthy and the batcher posts to Alt-DA",
    "other": "Batcher failing for no known cause",
}
DEFAULT_FEE_LIMIT_GWEI = 100.0  # op-batcher's own default
ROUND_GWEI = 100
LOG_TAIL = 10


def _truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _number(value, default=0.0):
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def batcher_failing_cause(reads, triage, settings, window_seconds, env_names):
    """env_names: the inventory's jeju_op_env (batcher_fee_limit, batcher_altda_enabled)."""
    batches, l1, fees = reads.get("batches") or {}, reads.get("l1") or {}, reads.get("fees") or {}
    balances, da = reads.get("balances") or {}, reads.get("da") or {}
    env = (triage.get("deployment") or {}).get("env") or {}
    logs = list(triage.get("logs") or [])
    limit = _number(env.get(env_names["batcher_fee_limit"]), DEFAULT_FEE_LIMIT_GWEI)
    fee_cap = _number(fees.get("base_fee_gwei")) * 2 + _number(fees.get("priority_fee_gwei"))
    needed = max(_number(settings.get("fee_limit_gwei")), math.ceil(fee_cap / ROUND_GWEI) * ROUND_GWEI)
    altda = _truthy(env.get(env_names["batcher_altda_enabled"], "false"))
    da_ok = da.get("status", 200) == 200
    l1_ok = "number" in l1 and not l1.get("stalled")
    if "batcher" in (balances.get("below_min") or []):
        cause = "unfunded"  # even while the window still holds batches paid for before the funds ran low
    elif (batches.get("batches_in_window") or 0) > 0:
        cause = "not_failing"
    elif not l1_ok:
        cause = "l1_down"
    elif fee_cap > limit:
        cause = "gas_spike"
    elif altda and not da_ok:
        cause = "da_down"
    else:
        cause = "other"
    batcher = (balances.get("balances") or {}).get("batcher") or {}
    return {
        "cause": cause,
        "cause_text": CAUSES[cause],
        "healthy": cause == "not_failing",
        "container": (triage.get("deployment") or {}).get("container", ""),
        "nonce_at_diagnosis": batches.get("batcher_nonce", -1),
        "fee_limit_gwei": limit,
        "fee_limit_new_gwei": int(needed),
        "altda_enabled": altda,
        "evidence": {
            "last_batch": batches.get("last_batch", batches.get("msg")),
            "batches_in_window": batches.get("batches_in_window"),
            "window_seconds": window_seconds,
            "batcher_balance_eth": batcher.get("eth"),
            "batcher_low_mark_eth": batcher.get("min_eth"),
            "l1_head": (f"block {l1['number']}, {l1.get('age_seconds')} s old" if "number" in l1
                        else l1.get("msg", "no answer")),
            "l1_base_fee_gwei": fees.get("base_fee_gwei"),
            "l1_fee_cap_gwei": round(fee_cap, 3),
            "fee_limit_gwei": limit,
            "altda_enabled": altda,
            "eigenda_health": da.get("status", "unreachable") if altda else "not used",
            "insufficient_funds_lines": sum(1 for line in logs if "insufficient funds" in line.lower()),
            "log_tail": logs[-LOG_TAIL:],
        },
    }


class FilterModule:
    def filters(self):
        return {"batcher_failing_cause": batcher_failing_cause}
