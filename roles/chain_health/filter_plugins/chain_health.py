# Copyright: Jeju operations. Apache-2.0.
"""chain_health_summary: the probes' results (L2 head, op-node sync status, each L1 endpoint) as plain facts."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def _error(result: Obj) -> str | None:
    answered = "number" in result or "unsafe_l2_number" in result
    if answered and not result.get("failed"):
        return None
    tried = [t.get("error") for t in result.get("endpoints_tried") or [] if t.get("error")]
    return str(tried[-1] if tried else result.get("msg") or "no answer")


def _head(result: Obj) -> Obj:
    error = _error(result)
    return {"number": result.get("number"), "age_seconds": result.get("age_seconds"),
            "stalled": result.get("stalled", True) if error is None else True,
            "endpoint": result.get("endpoint", ""), "error": error}


def chain_health_summary(results: list[Obj], l1_urls: list[str], stall_seconds: float) -> Obj:
    """results: [L2 chain_head, op_node sync_status, chain_head of each L1 endpoint in l1_urls' order]."""
    l2, op_node, *l1 = results
    op_error = _error(op_node)
    endpoints = []
    for index, (url, result) in enumerate(zip(l1_urls, l1, strict=False)):
        head = _head(result)
        endpoints.append({"index": index, "role": "primary" if index == 0 else "backup", "url": url,
                          "endpoint": head["endpoint"] or url.split("@")[-1], "number": head["number"],
                          "age_seconds": head["age_seconds"], "ok": head["error"] is None,
                          "error": head["error"]})
    healthy = [e for e in endpoints if e["ok"]]
    l2_head = _head(l2)
    return {
        "l2": {**l2_head, "stall_seconds": float(stall_seconds)},
        "op_node": {"reachable": op_error is None, "error": op_error,
                    "unsafe_l2_number": op_node.get("unsafe_l2_number"),
                    "safe_l2_number": op_node.get("safe_l2_number"),
                    "finalized_l2_number": op_node.get("finalized_l2_number")},
        "l1": endpoints,
        "l1_primary_ok": bool(endpoints) and endpoints[0]["ok"],
        "l1_healthy_backups": [e["url"] for e in healthy if e["index"] > 0],
    }


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"chain_health_summary": chain_health_summary}
