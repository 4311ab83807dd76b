# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filters for elevated-errors (runbook "P2 - Medium (Monitor)": elevated error rates).

    {{ elevated_errors_reads | jeju.ops.elevated_errors_cause(jeju_elevated_errors, jeju_alerts.error_ratio,
                                                              jeju_catalog) }}

elevated_errors_reads holds `components`, one entry per Deployment read (key: its jeju_deployments key, name, and
from role k8s_triage: logs, log_pod, errors), and `rpc`, what jeju.ops.rpc_probe registered for the public RPC.
Each component's error and warning lines over the window are counted and grouped by message template (the
message and its error, with numbers, hashes, addresses, IPs and peer ids folded), and compared with the
inventory's baseline for that component. The public RPC's error rate is compared with the alert's ratio
(jeju_alerts.error_ratio, the one JejuErrorRateHigh fires on). jeju_catalog names in `log_signatures` the log texts
whose cause each incident fixes: when the lines matching one incident's signatures dominate the elevated lines,
that incident is named.

Returns the cause (one of CAUSES), its sentence, healthy, the evidence, and for the report: components (counts,
baselines, limits), rpc, top (the most frequent templates with their count, first and last seen), signatures
(every known signature seen in the elevated lines), the dominant incident and signature, and elevated (what is).

    {{ 'msg="Failed at block 12" err="0xab..."' | jeju.ops.log_template }}

the template of one message text (used by the filter and handy in a debug task).
"""

from __future__ import annotations

import json
import re

CAUSES = {
    "baseline": "At baseline: every component's error and warning lines and the public RPC's error rate are normal",
    "known_signature": "Elevated errors dominated by a known signature: the incident that fixes it is named",
    "elevated": "Elevated errors with no known signature dominating: a human reads the top messages",
    "unread": "Not every log or the public RPC could be read: the error rates cannot be judged",
}
LEVELS = {"eror": "errors", "error": "errors", "err": "errors", "crit": "errors", "critical": "errors",
          "fatal": "errors", "panic": "errors", "dpanic": "errors", "warn": "warnings", "warning": "warnings"}
# Folded in this order: the longer, more specific shapes first.
FOLDS = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE), "<uuid>"),
    (re.compile(r"\b0x[0-9a-fA-F]{64}\b"), "<hash>"),
    (re.compile(r"\b0x[0-9a-fA-F]{40}\b"), "<address>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b[0-9a-fA-F]{64}\b"), "<hash>"),
    (re.compile(r"\b(?:16Uiu2HAm|12D3KooW|Qm)[1-9A-HJ-NP-Za-km-z]{20,}\b"), "<peer>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?"), "<n>"),
)
LOGFMT_PAIR = re.compile(r'([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')
# geth's terminal format: `WARN [12-01|13:50:16.123] message   key=value`
TERMINAL = re.compile(r"^(TRACE|DEBUG|INFO|WARN|ERROR|EROR|CRIT)\s*\[([^\]]*)\]\s+(.*)$")
# reth's tracing format: `2024-05-01T12:00:00.123456Z  WARN target::path: message key=value`
TRACING = re.compile(r"^(\d{4}-\d\d-\d\dT\S+)\s+(TRACE|DEBUG|INFO|WARN|ERROR)\s+(?:[\w:]+:\s+)?(.*)$")
MESSAGE_END = re.compile(r"\s+[A-Za-z_][\w.-]*=")
EVIDENCE_TOP = 5
RPC = "public RPC"


def log_template(text):
    """The message template of a log text: numbers, hashes, addresses, IPs and peer ids folded."""
    folded = str(text)
    for pattern, placeholder in FOLDS:
        folded = pattern.sub(placeholder, folded)
    return " ".join(folded.split())


def _unquote(value):
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\n", " ").replace("\\\\", "\\")
    return value


def _text(msg, err):
    msg, err = str(msg or "").strip(), str(err or "").strip()
    return f"{msg}: {err}" if msg and err else msg or err


def _json_entry(line):
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    level = str(data.get("lvl") or data.get("level") or "").lower()
    stamp = data.get("t") or data.get("time") or data.get("ts") or data.get("timestamp") or ""
    return level, str(stamp), _text(data.get("msg") or data.get("message"), data.get("err") or data.get("error"))


def _pairs(text):
    return {key: _unquote(value) for key, value in LOGFMT_PAIR.findall(text)}


def _message_and_pairs(rest):
    """`message key=value ...` (terminal and tracing formats): the message, and the pairs after it."""
    cut = MESSAGE_END.search(rest)
    message = rest[:cut.start()] if cut else rest
    return message.strip(), _pairs(rest[len(message):])


def parse_line(line):
    """(level, time, text) of one log line, level 'errors', 'warnings' or '' (any other level or no level)."""
    line = str(line).strip()
    entry = None
    if line.startswith("{"):
        entry = _json_entry(line)
    if entry is None and (found := TERMINAL.match(line)):
        message, pairs = _message_and_pairs(found.group(3))
        entry = found.group(1).lower(), found.group(2), _text(message, pairs.get("err") or pairs.get("error"))
    if entry is None and (found := TRACING.match(line)):
        message, pairs = _message_and_pairs(found.group(3))
        entry = found.group(2).lower(), found.group(1), _text(message, pairs.get("err") or pairs.get("error"))
    if entry is None:
        pairs = _pairs(line)
        entry = (str(pairs.get("lvl") or pairs.get("level") or "").lower(),
                 pairs.get("t") or pairs.get("time") or pairs.get("ts") or "",
                 _text(pairs.get("msg"), pairs.get("err") or pairs.get("error")))
    level, stamp, text = entry
    return LEVELS.get(level, ""), stamp, text or line


def _signatures(catalog):
    """(signature, its lower-case text, incident) for every log signature of the catalog, in catalog order."""
    return [(str(s), str(s).strip().lower(), entry.get("name", ""))
            for entry in catalog or [] for s in entry.get("log_signatures") or [] if str(s).strip()]


def _number(value, default=0.0):
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _level(count, per_minute, window, factor, min_lines):
    expected = per_minute * window / 60.0
    limit = max(factor * expected, float(min_lines))
    return {
        "count": count,
        "baseline_per_minute": per_minute,
        "expected": round(expected, 2),
        "limit": round(limit, 2),
        "per_minute": round(count * 60.0 / window, 2) if window else None,
        "times_baseline": round(count / expected, 1) if expected else None,
        "elevated": count >= min_lines and count > factor * expected,
    }


def _read_error(component):
    errors = [str(e) for e in component.get("errors") or [] if e]
    if errors:
        return "; ".join(errors)
    if not component.get("log_pod"):
        return f"no pod of {component.get('name', component.get('key', '?'))} to read logs from"
    return ""


def _component(component, settings, window):
    baseline = (settings.get("baseline_per_minute") or {}).get(component.get("key"), {}) or {}
    factor, min_lines = _number(settings.get("elevated_factor"), 3.0), int(_number(settings.get("min_lines"), 1))
    logs = list(component.get("logs") or [])
    entries = []
    for line in logs:
        level, stamp, text = parse_line(line)
        if level:
            entries.append({"level": level, "time": stamp, "text": text, "line": line})
    levels = {level: _level(sum(1 for e in entries if e["level"] == level), _number(baseline.get(level)), window,
                            factor, min_lines) for level in ("errors", "warnings")}
    read_error = _read_error(component)
    max_lines = int(_number(settings.get("max_lines"), 0))
    return {
        "key": component.get("key", ""),
        "name": component.get("name", component.get("key", "")),
        "pod": component.get("log_pod", ""),
        "lines_read": len(logs),
        "capped": bool(max_lines) and len(logs) >= max_lines,
        "read_error": read_error,
        "levels": levels,
        "elevated": not read_error and any(v["elevated"] for v in levels.values()),
    }, entries


def _groups(component, entries, signatures):
    groups = {}
    for entry in entries:
        key = (entry["level"], log_template(entry["text"]))
        group = groups.setdefault(key, {
            "component": component, "level": entry["level"][:-1], "template": key[1], "count": 0,
            "first_seen": "", "last_seen": "", "example": entry["line"], "signature": "", "incident": ""})
        group["count"] += 1
        group["first_seen"] = group["first_seen"] or entry["time"]
        group["last_seen"] = entry["time"] or group["last_seen"]
        if not group["signature"]:
            lower = entry["text"].lower()
            match = next(((s, incident) for s, text, incident in signatures if text in lower), None)
            if match:
                group["signature"], group["incident"] = match
    return list(groups.values())


def _dominance(pool, signatures, share_needed):
    """Which incident's signatures dominate the elevated lines: (dominant, tied incidents, per-signature counts)."""
    by_incident, by_signature = {}, {}
    for entry in pool:
        lower = entry["text"].lower()
        for signature, text, incident in signatures:
            if text in lower:
                by_signature[(signature, incident)] = by_signature.get((signature, incident), 0) + 1
        for incident in dict.fromkeys(i for _s, text, i in signatures if text in lower):
            by_incident[incident] = by_incident.get(incident, 0) + 1
    seen = [{"signature": s, "incident": i, "lines": n}
            for (s, i), n in sorted(by_signature.items(), key=lambda item: -item[1])]
    ranked = sorted(by_incident.items(), key=lambda item: -item[1])
    if not pool or not ranked or ranked[0][1] / len(pool) < share_needed:
        return {}, [], seen
    top = [incident for incident, lines in ranked if lines == ranked[0][1]]
    if len(top) > 1:
        return {}, top, seen
    incident, lines = ranked[0]
    signature = next(s["signature"] for s in seen if s["incident"] == incident)
    return {"incident": incident, "signature": signature, "lines": lines, "of_lines": len(pool),
            "share": round(lines / len(pool), 3)}, [], seen


def _rpc(rpc, ratio, samples):
    rpc = rpc or {}
    if "error_rate" not in rpc:
        return {"measured": False, "read_error": str(rpc.get("msg") or "no answer"), "elevated": False,
                "limit": ratio, "examples": []}
    rate = _number(rpc.get("error_rate"))
    return {"measured": True, "read_error": "", "error_rate": rate, "errors": rpc.get("errors"), "samples": samples,
            "limit": ratio, "elevated": rate > ratio, "examples": list(rpc.get("error_examples") or []),
            "p95_ms": rpc.get("p95_ms")}


def _level_words(name, level):
    return (f"{name} {level['count']} (baseline {level['expected']:g} in the window, elevated from "
            f"{level['limit']:g}){' ELEVATED' if level['elevated'] else ''}")


def _evidence(components, rpc, top, dominant, tied, window):
    def row(c):
        if c["read_error"]:
            return f"not read: {c['read_error']}"
        return "; ".join(_level_words(level, c["levels"][level]) for level in ("errors", "warnings")) + (
            f" (only the last {c['lines_read']} lines: the window was cut)" if c["capped"] else "")

    if dominant:
        signature = (f"'{dominant['signature']}' ({dominant['incident']}): {dominant['lines']} of "
                     f"{dominant['of_lines']} elevated lines ({dominant['share']:.0%})")
    elif tied:
        signature = f"none: the signatures of {' and '.join(tied)} tie"
    else:
        signature = "none dominates"
    return {
        "window": f"the last {window:g} s of each component's log (kubectl logs --since={window:g}s)",
        "components": {c["name"]: row(c) for c in components},
        "public_rpc": (f"error rate {rpc['error_rate']:.1%} of {rpc['samples']} requests (elevated above "
                       f"{rpc['limit']:.1%}){' ELEVATED' if rpc['elevated'] else ''}" if rpc["measured"]
                       else f"not measured: {rpc['read_error']}"),
        "top_messages": [f"{t['count']} x {t['component']} {t['level']}: {t['template']} "
                         f"(first {t['first_seen'] or '?'}, last {t['last_seen'] or '?'})" for t in top[:EVIDENCE_TOP]],
        "dominant_signature": signature,
    }


def elevated_errors_cause(reads, settings, rpc_error_ratio, catalog):
    """The verdict on a component's (or the RPC's) error rates against their baselines; see the module's doc."""
    reads, settings = reads or {}, settings or {}
    window = _number(settings.get("window_seconds"), 60.0)
    signatures = _signatures(catalog)
    components, groups, pool = [], [], []
    for component in reads.get("components") or []:
        summary, entries = _component(component, settings, window)
        components.append(summary)
        groups += _groups(summary["name"], entries, signatures)
        if summary["elevated"]:
            pool += entries
    rpc = _rpc(reads.get("rpc"), _number(rpc_error_ratio, 0.05), int(_number(settings.get("rpc_probe_samples"))))
    top = sorted(groups, key=lambda g: (-g["count"], g["component"], g["level"], g["template"]))
    top = top[:int(_number(settings.get("top_messages"), 10))]
    dominant, tied, seen = _dominance(pool, signatures, _number(settings.get("dominant_share"), 0.5))
    elevated = [c["name"] for c in components if c["elevated"]] + ([RPC] if rpc["elevated"] else [])
    not_read = [f"{c['name']}: {c['read_error']}" for c in components if c["read_error"]] + (
        [] if rpc["measured"] else [f"{RPC}: {rpc['read_error']}"])
    cause = (("known_signature" if dominant else "elevated") if elevated
             else "unread" if not_read else "baseline")
    return {
        "cause": cause,
        "cause_text": CAUSES[cause],
        "healthy": cause == "baseline",
        "elevated": elevated,
        "not_read": not_read,
        "incident": dominant.get("incident", ""),
        "signature": dominant.get("signature", ""),
        "dominant": dominant,
        "tied": tied,
        "signatures": seen,
        "window_seconds": window,
        "components": components,
        "rpc": rpc,
        "top": top,
        "evidence": _evidence(components, rpc, top, dominant, tied, window),
    }


class FilterModule:
    def filters(self):
        return {"elevated_errors_cause": elevated_errors_cause, "log_template": log_template}
