"""jeju.ops.rpc_down_cause and rpc_down_recovery: the public path Ingress -> Service -> Endpoints -> reth."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.jeju.ops.plugins.filter.rpc_down import rpc_down_cause, rpc_down_recovery

NOW = 1_000_000.0
ANNOTATION = "nginx.ingress.kubernetes.io/limit-rpm"
SETTINGS = {"rate_limit_floor_rpm": 50}
LABELS = {"app.kubernetes.io/name": "reth"}


def probe(ok: bool = True) -> dict[str, Any]:
    return {"url": "http://rpc", "error_rate": 0.0 if ok else 1.0, "p95_ms": 40,
            "reasons": [] if ok else ["error rate 100.0% is above 0.0%"]}


def reth_pod(ready: bool = True, reason: str = "") -> dict[str, Any]:
    return {"name": "reth-1", "ready": ready, "restarts": 0 if ready else 4, "labels": LABELS,
            "waiting_reason": "" if ready else "CrashLoopBackOff", "last_terminated_reason": reason}


def triage(pods: list[dict[str, Any]] | None = None, replicas: int = 1, logs: list[str] | None = None) -> dict:
    pods = [reth_pod()] if pods is None else pods
    return {"deployment": {"found": True, "replicas": replicas, "container": "reth"}, "pods": pods,
            "ready_pods": sum(1 for p in pods if p["ready"]), "logs": logs or []}


def reads(ok: bool = True, head_age: float | None = 1.0, endpoints: int = 1, rpm: str | None = None,
          selector: dict[str, str] | None = None) -> dict[str, Any]:
    op_node: dict[str, Any] = {"failed": False, "msg": "unreachable"} if head_age is None else {
        "sync_status": {"unsafe_l2": {"timestamp": NOW - head_age}}, "unsafe_l2_number": 100}
    return {"probes": [probe(ok)],
            "service": {"metadata": {"name": "reth"}, "spec": {"selector": selector or LABELS}},
            "endpoints": {"subsets": [{"addresses": [{"ip": "10.0.0.1"}] * endpoints}] if endpoints else []},
            "ingress": {"metadata": {"annotations": {ANNOTATION: rpm} if rpm else {}}},
            "op_node": op_node}


CASES = [
    ("everything answers", reads(), triage(), "not_down"),
    ("answers but the chain stalled", reads(head_age=600), triage(), "chain_down"),
    ("answers, op-node unreachable", reads(head_age=None), triage(), "chain_down"),
    ("reth at 0 replicas", reads(ok=False, endpoints=0), triage([], replicas=0), "scaled_to_zero"),
    ("reth has no pod", reads(ok=False, endpoints=0), triage([]), "scaled_to_zero"),
    ("scaled to zero wins over a stalled chain", reads(ok=False, head_age=600, endpoints=0), triage([], replicas=0),
     "scaled_to_zero"),
    ("OOMKilled", reads(ok=False, endpoints=0), triage([reth_pod(False, "OOMKilled")]), "out_of_memory"),
    ("disk full", reads(ok=False, endpoints=0),
     triage([reth_pod(False, "Error")], logs=["write failed: No space left on device"]), "disk_full"),
    ("crash-looping", reads(ok=False, endpoints=0), triage([reth_pod(False, "Error")]), "crash"),
    ("a Ready reth's old disk-full lines are history", reads(ok=False, endpoints=0,
     selector={"app.kubernetes.io/name": "reth-v2"}),
     triage(logs=["write failed: No space left on device"]), "selector_mismatch"),
    ("selector matches nothing", reads(ok=False, endpoints=0, selector={"app.kubernetes.io/name": "reth-v2"}),
     triage(), "selector_mismatch"),
    ("rate limit at 1/min", reads(ok=False, rpm="1"), triage(), "rate_limited"),
    ("rate limit above the floor is not the cause", reads(ok=False, rpm="100"), triage(), "other"),
    ("nothing known, chain down", reads(ok=False, head_age=600), triage(), "chain_down"),
    ("nothing known", reads(ok=False), triage(), "other"),
]


@pytest.mark.parametrize(("reads_", "triage_", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_cause(reads_: dict[str, Any], triage_: dict[str, Any], expected: str) -> None:
    decided = rpc_down_cause(reads_, triage_, SETTINGS, ANNOTATION, 60, now=NOW)
    assert decided["cause"] == expected and decided["healthy"] is (expected == "not_down")


def test_the_selector_drift_is_named() -> None:
    decided = rpc_down_cause(reads(ok=False, endpoints=0, selector={"app.kubernetes.io/name": "reth-v2"}),
                             triage(), SETTINGS, ANNOTATION, 60, now=NOW)
    assert decided["selector"] == {"app.kubernetes.io/name": "reth-v2"}
    assert decided["pod_labels"] == {"reth-1": LABELS}
    assert decided["evidence"]["endpoints_ready"] == 0 and decided["evidence"]["selector_matches"] == []


def test_recovery_needs_every_url_fast_and_at_the_head() -> None:
    op_node = {"unsafe_l2_number": 100}
    assert rpc_down_recovery([probe()], [{"number": 99}], op_node, 500)["ok"]
    behind = rpc_down_recovery([probe()], [{"number": 90}], op_node, 500)
    assert not behind["ok"] and "at block 90, op-node at 100" in behind["failure"]
    failing = rpc_down_recovery([probe(), probe(False)], [{"number": 100}, {}], op_node, 500)
    assert not failing["ok"] and "error rate" in failing["failure"]
    slow = rpc_down_recovery([{**probe(), "p95_ms": 900}], [{"number": 100}], op_node, 500)
    assert "p95 900 ms" in slow["failure"]
    assert not rpc_down_recovery([], [], op_node, 500)["ok"]
