# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filter daily_checks_grade (runbook "On-Call Responsibilities" -> Daily Checks): a verdict per check.

    {{ daily_checks_reads | jeju.ops.daily_checks_grade(daily_checks_components, jeju_thresholds, jeju_catalog,
                                                        jeju_daily_checks.log_lines) }}

daily_checks_reads: balances (jeju.ops.account_balance), rpc (jeju.ops.rpc_probe), l2 (jeju.ops.chain_head),
batches (jeju.ops.batch_activity) and outputs (jeju.ops.output_oracle): jeju.ops.chain_reads' results and the probe
registered with failed_when false; a read that failed has its msg.
daily_checks_components: one entry per reviewed Deployment (role k8s_triage's `components`): key (its
jeju_deployments key), name, ready_pods, pods, errors and logs (the last lines; those at an error level count).
jeju_catalog: the catalog's incidents (the runner passes it); each names in `daily_checks` the checks whose
failure it fixes. log_lines: how many last lines were read per Deployment (the report says so).

Returns one entry per check: id, name, ok, detail and incident (the one to run when it fails).
"""

from __future__ import annotations

import re

ERROR_LINE = re.compile(r"lvl=(error|crit|eror)")  # logfmt levels: op-node's "eror", reth's "error", "crit"


def _incident_for(catalog, check):
    for entry in catalog or []:
        if check in (entry.get("daily_checks") or []):
            return entry["name"]
    return ""


def _msg(result):
    return str(result.get("msg") or "no answer")


def _balances(r, thresholds):
    if "below_min" not in r:
        return False, _msg(r)
    rows = ", ".join(f"{name} {row.get('eth')}" for name, row in (r.get("balances") or {}).items())
    below = ", ".join(r["below_min"]) or "none"
    return not r["below_min"], f"{rows} ETH; below {thresholds['balance_low_eth']} ETH: {below}"


def _rpc(r, thresholds):
    if "degraded" not in r:
        return False, _msg(r)
    return not r["degraded"], (f"p95 {r.get('p95_ms')} ms, error rate {r.get('error_rate')} "
                               f"(threshold {thresholds['rpc_latency_ms']} ms)")


def _l2(r, _thresholds):
    if "stalled" not in r:
        return False, _msg(r)
    return not r["stalled"], f"head {r.get('number')}, {r.get('age_seconds')} s old"


def _batches(r, thresholds):
    if "batches_in_window" not in r:
        return False, _msg(r)
    count = int(r["batches_in_window"] or 0)
    return count > 0, f"{count} batches in the last {thresholds['batch_stall_seconds']} s"


def _outputs(r, thresholds):
    if "proposed" not in r:
        return False, _msg(r)
    if not r["proposed"]:
        return False, "no output proposed yet (latestOutputIndex reverts)"
    age = float("inf") if r.get("age_seconds") is None else float(r["age_seconds"])
    mismatch = bool(r.get("mismatch"))
    ok = age < float(thresholds["output_stall_seconds"]) and not mismatch
    return ok, f"latest output {r.get('age_seconds')} s old" + (", root MISMATCHES op-node" if mismatch else "")


CHECKS = (  # id, name, the read it grades, how
    ("balances", "Account balances", "balances", _balances),
    ("public_rpc", "Public RPC endpoint", "rpc", _rpc),
    ("l2_blocks", "L2 block production", "l2", _l2),
    ("batches", "Batches landing on L1", "batches", _batches),
    ("outputs", "Output roots proposed", "outputs", _outputs),
)


def _component(component, log_lines):
    pods = component.get("pods") or []
    waiting = [p for p in pods if p.get("waiting_reason")]
    lines = [line for line in component.get("logs") or [] if ERROR_LINE.search(line)]
    ok = not component.get("errors") and component.get("ready_pods", 0) > 0 and not waiting
    detail = (f"{component.get('ready_pods', 0)} of {len(pods)} pods ready, restarts "
              f"{sum(p.get('restarts', 0) for p in pods)}, {len(lines)} error lines in the last {log_lines}"
              + (f": {lines[-1]}" if lines else ""))
    return ok, detail


def daily_checks_grade(reads, components, thresholds, catalog, log_lines):
    graded = []
    for check, name, read, grade in CHECKS:
        ok, detail = grade(reads.get(read) or {}, thresholds)
        graded.append({"id": check, "name": name, "ok": ok, "detail": detail.strip(),
                       "incident": _incident_for(catalog, check)})
    for component in components or []:
        ok, detail = _component(component, log_lines)
        check = f"pods_{component['key']}"
        graded.append({"id": check, "name": f"{component['name']} pods", "ok": ok, "detail": detail,
                       "incident": _incident_for(catalog, check)})
    return graded


class FilterModule:
    def filters(self):
        return {"daily_checks_grade": daily_checks_grade}
