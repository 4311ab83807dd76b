# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filters for sequencer-restarts (runbook P1 "Sequencer restarting frequently"; its causes are the network-down
section's: out of memory, the L1 RPC, a crash; and Kubernetes' own: a liveness probe that kills a healthy process).

    {{ {'before': triage_at_start, 'after': triage_at_end, 'chain': watch,
        'probe': chain_health_probe, 'since': window_started, 'now': jeju_now}
       | jeju.ops.sequencer_restarts_cause(jeju_sequencer_restarts, jeju_op_env.op_node_l1_rpc) }}

compares op-node's pods (role k8s_triage) at the start and at the end of an observation window, over which the
L2 head was watched (blocks_over_window): restarts in the window (the restart counts' growth, and the restarts
of pods that appeared), the termination reasons, the kubelet's events (liveness probe failures, kills,
back-offs: those since the window started decide, those of the inventory's history window are the timeline) and
the log lines before the crash. Returns cause, cause_text,
healthy, restarts (in the window), timeline (the events and terminations, oldest first), and for the fixes:
container, probe (the liveness probe: path, port, timings) and probe_text, l1_url_before and l1_backup.

Causes, in the order they are told apart: not_restarting (no restart in the window, no kill in the history),
not_flowing (blocks stopped: this is network-down), out_of_memory (the last termination is OOMKilled),
liveness_probe (the kubelet kills op-node for a failed liveness probe while blocks flow),
l1_flapping (the lines before the crash are L1 RPC errors), unknown.

    {{ {'start': head_at_start, 'end': head_at_end} | jeju.ops.blocks_over_window(window_seconds) }}

the L2 heads read at a window's start and end (jeju.ops.chain_head) as the watch the other two read.

    {{ {'before': triage_at_start, 'after': triage_at_end, 'chain': watch}
       | jeju.ops.sequencer_restarts_recovery }}

judges the recovery: no new restart during the window and blocks flowing.
"""

from __future__ import annotations

import re
from datetime import datetime

CAUSES = {
    "not_restarting": "op-node is not restarting: no restart in the window",
    "not_flowing": "op-node restarts and blocks have stopped: this is a network-down",
    "out_of_memory": "op-node is OOMKilled and restarts; blocks still flow between the restarts",
    "liveness_probe": "The kubelet kills op-node for a failing liveness probe while op-node is healthy",
    "l1_flapping": "op-node restarts on L1 RPC errors: the primary L1 RPC is flapping",
    "unknown": "op-node restarts for no known reason",
}
KILL_REASONS = {"Killing", "BackOff", "Unhealthy"}
LIVENESS = re.compile(r"liveness probe", re.I)
L1_ERROR = re.compile(r"\bL1\b.*(refused|timeout|timed out|EOF|reset|unavailable|failed)|"
                      r"(refused|timeout|failed).*\bL1\b", re.I)
TIMELINE_KEPT = 20
# The lines a process leaves on its way down (op-node logs `lvl=crit` before it exits; Go prints `panic:`).
FATAL = re.compile(r"\blvl=crit\b|\blevel=(crit|fatal)\b|\bpanic:", re.I)


def _seconds(stamp):
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _restarts(before, after):
    """Restarts in the window per pod: the count's growth, or all of a pod's restarts if it appeared since."""
    counts = {p["name"]: int(p.get("restarts") or 0) for p in before.get("pods") or []}
    grown = {}
    for pod in after.get("pods") or []:
        now = int(pod.get("restarts") or 0)
        delta = now - counts.get(pod["name"], 0)
        if delta > 0:
            grown[pod["name"]] = delta
    return grown


def _history(triage, now, history_seconds):
    """The kubelet's kill and probe events about op-node's pods (those that run now: a replaced pod's events are
    another pod's story) in the history window, oldest first."""
    end = _seconds(now)
    pods = {f"Pod/{p['name']}" for p in triage.get("pods") or []}
    found = []
    for event in triage.get("events") or []:
        if event.get("reason") not in KILL_REASONS or event.get("object") not in pods:
            continue
        at = _seconds(event.get("time"))
        if end is not None and at is not None and end - at > float(history_seconds):
            continue
        found.append(event)
    return sorted(found, key=lambda e: str(e.get("time")))


def _probe(triage):
    probe = (triage.get("deployment") or {}).get("liveness_probe") or {}
    if not probe:
        return {}
    http = probe.get("httpGet") or {}
    return {"path": http.get("path", ""), "port": http.get("port", ""),
            "period_seconds": probe.get("periodSeconds", 10), "timeout_seconds": probe.get("timeoutSeconds", 1),
            "failure_threshold": probe.get("failureThreshold", 3),
            "initial_delay_seconds": probe.get("initialDelaySeconds", 0)}


def _probe_text(probe):
    if not probe:
        return "no liveness probe"
    return (f"GET :{probe['port']}{probe['path']} every {probe['period_seconds']} s, timeout "
            f"{probe['timeout_seconds']} s, failure threshold {probe['failure_threshold']}")


def _timeline(before, after, history, grown):
    lines = [f"{e.get('time')} {e.get('object')} {e.get('reason')}: {e.get('message')}" for e in history]
    for pod in after.get("pods") or []:
        if pod["name"] in grown:
            lines.append(f"{pod['name']}: {grown[pod['name']]} restart(s) in the window (restartCount now "
                         f"{pod.get('restarts')}), last terminated {pod.get('last_terminated_reason') or '-'} "
                         f"exit {pod.get('last_exit_code')}")
    return lines[-TIMELINE_KEPT:]


def sequencer_restarts_cause(readings, settings, l1_env):
    before = readings.get("before") or {}
    after = readings.get("after") or {}
    chain = readings.get("chain") or {}
    probe = readings.get("probe") or {}
    grown = _restarts(before, after)
    history = _history(after, readings.get("now"), settings.get("history_seconds", 600))
    since = _seconds(readings.get("since")) if readings.get("since") else None
    in_window = [e for e in history if since is None or (_seconds(e.get("time")) or 0) >= since]
    restarting = bool(grown) or any(e.get("reason") == "Killing" for e in in_window)
    logs = list(after.get("logs") or []) + list(before.get("logs") or [])
    reasons = [p.get("last_terminated_reason") for p in after.get("pods") or [] if p["name"] in grown] or [
        p.get("last_terminated_reason") for p in after.get("pods") or [] if p.get("last_terminated_reason")]
    liveness = [e for e in in_window if LIVENESS.search(str(e.get("message", "")))]
    l1_lines = [line for line in logs if L1_ERROR.search(line)]
    flowing = bool(chain.get("blocks_ok"))
    if not restarting:
        cause = "not_restarting"
    elif not flowing:
        cause = "not_flowing"
    elif "OOMKilled" in reasons:
        cause = "out_of_memory"
    elif liveness:
        cause = "liveness_probe"
    elif l1_lines:
        cause = "l1_flapping"
    else:
        cause = "unknown"
    deployment = after.get("deployment") or before.get("deployment") or {}
    return {
        "cause": cause,
        "cause_text": CAUSES[cause],
        "healthy": cause == "not_restarting",
        "restarts": sum(grown.values()),
        "restarted_pods": grown,
        "timeline": _timeline(before, after, history, grown),
        "container": deployment.get("container", ""),
        "probe": _probe(after) or _probe(before),
        "probe_text": _probe_text(_probe(after) or _probe(before)),
        "l1_url_before": (deployment.get("env") or {}).get(l1_env, ""),
        "l1_backup": (probe.get("l1_healthy_backups") or [""])[0],
        "evidence": {
            "restarts_in_window": grown,
            "window_seconds": chain.get("waited_seconds"),
            "blocks_advanced": chain.get("blocks_advanced"),
            "termination_reasons": sorted({r for r in reasons if r}),
            "liveness_failures": [e.get("message") for e in liveness][-3:],
            "l1_error_lines": l1_lines[-3:],
            "log_tail": ([line for line in logs if FATAL.search(line)] or logs)[-3:] if cause == "unknown" else [],
        },
    }


def blocks_over_window(heads, window_seconds):
    """The L2 heads read (jeju.ops.chain_head) at a window's start and end, as role chain_health's verify puts it:
    blocks_ok when the head moved."""
    start = (heads.get("start") or {}).get("number")
    end = (heads.get("end") or {}).get("number")
    advanced = int(end) - int(start) if start is not None and end is not None else 0
    return {"start_number": start, "end_number": end, "blocks_advanced": advanced, "blocks_ok": advanced > 0,
            "waited_seconds": float(window_seconds),
            "error": (heads.get("end") or {}).get("msg", "") if end is None else ""}


def sequencer_restarts_recovery(readings):
    """No new restart during the window, and blocks flowing."""
    grown = _restarts(readings.get("before") or {}, readings.get("after") or {})
    chain = readings.get("chain") or {}
    problems = []
    if grown:
        problems.append("restarted during the window: " + ", ".join(f"{p} +{n}" for p, n in sorted(grown.items())))
    if not chain.get("blocks_ok"):
        problems.append(f"{chain.get('blocks_advanced')} new L2 block(s) in {chain.get('waited_seconds')} s")
    return {"ok": not problems, "failure": "; ".join(problems),
            "proof": f"no op-node restart in {chain.get('waited_seconds')} s, "
                     f"{chain.get('blocks_advanced')} new L2 blocks"}


class FilterModule:
    def filters(self):
        return {"sequencer_restarts_cause": sequencer_restarts_cause, "blocks_over_window": blocks_over_window,
                "sequencer_restarts_recovery": sequencer_restarts_recovery}
