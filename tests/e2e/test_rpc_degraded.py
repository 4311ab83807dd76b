"""rpc-degraded end to end: break the lab, run the real `jeju-play rpc-degraded`, assert on the lab afterwards.

The public RPC's latency is measured here the way a user sees it (a JSON-RPC call over HTTP); replicas and
annotations are read with the Kubernetes client. After each test reth, the indexer and the ingress are put back
as the lab started them. The real `jeju-play drill` (which restarts the lab) runs last.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jeju_lab.anvil import rpc_call
from jeju_play.errors import LabError
from tests.support import LOCAL_THRESHOLDS, LabHandle, artifact, classification, run_cli, run_incident, wait_until
from tests.support import kube as support_kube

NS = "op-stack"
INDEXER_NS = "indexer"
INGRESS = "reth-public"
RATE_LIMIT = "nginx.ingress.kubernetes.io/limit-rpm"  # ingress-nginx (the runbook named annotations it ignores)
THRESHOLD_MS = LOCAL_THRESHOLDS["rpc_latency_ms"]  # the lab's (inventories/local), not the runbook's 500


def kube(lab: LabHandle) -> Any:
    clients = support_kube(lab)
    return clients.apps, clients.networking


def replicas(lab: LabHandle, name: str, namespace: str = NS) -> tuple[int, int]:
    deployment = kube(lab)[0].read_namespaced_deployment(name, namespace)
    return deployment.spec.replicas, deployment.status.ready_replicas or 0


def annotations(lab: LabHandle) -> dict[str, str]:
    return kube(lab)[1].read_namespaced_ingress(INGRESS, NS).metadata.annotations or {}


def rpc_latency_ms(lab: LabHandle) -> float:
    """The slowest of three eth_blockNumber calls to the public RPC."""
    url = lab.state["endpoints"]["l2_rpc_urls"][0]
    slowest = 0.0
    for _ in range(3):
        started = time.perf_counter()
        rpc_call(url, "eth_blockNumber")
        slowest = max(slowest, (time.perf_counter() - started) * 1000)
    return slowest


def reset(lab: LabHandle) -> None:
    """reth at one replica, the indexer at one, no rate limiting on the ingress."""
    apps, networking = kube(lab)
    apps.patch_namespaced_deployment("reth", NS, {"spec": {"replicas": 1}})
    apps.patch_namespaced_deployment("subsquid", INDEXER_NS, {"spec": {"replicas": 1}})
    networking.patch_namespaced_ingress(INGRESS, NS, {"metadata": {"annotations": {
        RATE_LIMIT: None}}})
    wait_until(lambda: replicas(lab, "reth") == (1, 1) and replicas(lab, "subsquid", INDEXER_NS) == (1, 1),
               "reth and the indexer at one Ready replica")


def rpc_fast(lab: LabHandle) -> bool:
    try:
        return rpc_latency_ms(lab) < THRESHOLD_MS / 2
    except (OSError, LabError):  # a 503 or a refused connection while reth's endpoints come back
        return False


@pytest.fixture
def rpc_lab(lab: LabHandle) -> Iterator[LabHandle]:
    reset(lab)
    # Seen in CI once: a healthy run classified database_slow (slow, reth idle, indexer up) on a worker whose
    # earlier tests had rolled reth. Each test starts with the public RPC fast, as a user would see it.
    wait_until(lambda: rpc_fast(lab), f"the public RPC answering under {THRESHOLD_MS / 2:.0f} ms", limit=60)
    yield lab
    lab.lab.heal()
    reset(lab)


def rpc_degraded(lab: LabHandle, *args: str) -> tuple[Any, Path]:
    return run_incident(lab, "rpc-degraded", *args, timeout=180)


def test_healthy_rpc_is_not_degraded_and_nothing_changes(rpc_lab: LabHandle) -> None:
    done, record = rpc_degraded(rpc_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "not_degraded"
    assert replicas(rpc_lab, "reth") == (1, 1)
    assert replicas(rpc_lab, "subsquid", INDEXER_NS) == (1, 1)
    assert json.loads((record / "summary.json").read_text())["gates"] == []


def test_overload_check_then_scaled_and_rate_limited(rpc_lab: LabHandle) -> None:
    rpc_lab.lab.break_fault("rpc-overload")
    assert rpc_latency_ms(rpc_lab) > THRESHOLD_MS

    checked, record = rpc_degraded(rpc_lab, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert classification(record) == "overloaded"
    scale, rate_limit = json.loads((record / "summary.json").read_text())["gates"]
    assert scale["decision"].startswith("would ask") and int(scale["change"]["replicas"]) == 3
    assert rate_limit["decision"].startswith("would ask") and rate_limit["change"]["annotations"][RATE_LIMIT] == "100"
    assert replicas(rpc_lab, "reth") == (1, 1)
    assert RATE_LIMIT not in annotations(rpc_lab)

    fixed, record = rpc_degraded(rpc_lab, "--yes")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert replicas(rpc_lab, "reth") == (3, 3)
    assert rpc_latency_ms(rpc_lab) < THRESHOLD_MS
    assert annotations(rpc_lab)[RATE_LIMIT] == "100"
    assert replicas(rpc_lab, "subsquid", INDEXER_NS) == (1, 1)  # the indexer is not what was slow
    drift = yaml.safe_load(artifact(record, "drift.yml"))["drift"]
    assert [(d["file"], d["key"], d["was"], d["live"]) for d in drift] == [
        ("reth/values.yaml", "replicas", 1, 3),
        ("kubernetes/ingress/reth-public.yaml", f"metadata.annotations.{RATE_LIMIT}", "", "100")]
    report = artifact(record, "incident-report.md")
    assert "INCIDENT REPORT - RPC Degraded Performance" in report and "Status: Resolved" in report


def test_slow_indexer_database_scales_the_indexer_to_zero(rpc_lab: LabHandle) -> None:
    rpc_lab.lab.break_fault("indexer-db-slow")
    assert rpc_latency_ms(rpc_lab) > THRESHOLD_MS
    done, record = rpc_degraded(rpc_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "database_slow"
    assert replicas(rpc_lab, "subsquid", INDEXER_NS) == (0, 0)
    assert replicas(rpc_lab, "reth") == (1, 1)
    assert rpc_latency_ms(rpc_lab) < THRESHOLD_MS
    drift = yaml.safe_load(artifact(record, "drift.yml"))["drift"]
    assert [(d["file"], d["key"], d["was"], d["live"]) for d in drift] == [("subsquid/values.yaml", "replicas", 1, 0)]


def test_critical_indexer_is_not_scaled_down_but_escalated(rpc_lab: LabHandle) -> None:
    rpc_lab.lab.break_fault("indexer-db-slow")
    settings = yaml.safe_load((rpc_lab.project / "inventories/local/group_vars/all/vars.yml").read_text())
    critical = {**settings["jeju_rpc_degraded"], "indexer_critical": True}
    done, record = rpc_degraded(rpc_lab, "--yes", "-e", "jeju_rpc_degraded=" + json.dumps(critical))
    assert done.returncode == 3, done.stdout + done.stderr
    assert replicas(rpc_lab, "subsquid", INDEXER_NS) == (1, 1)
    report = artifact(record, "incident-report.md")
    assert "Status: Escalated" in report and "RDS" in report


def test_drill_rpc_overload_recovers(lab: LabHandle) -> None:
    """The real `jeju-play drill` (fresh lab, break, settle, run, check from outside). Restarts the lab: last."""
    done = run_cli("drill", "rpc-degraded", "--fault", "rpc-overload", "--json", timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout[done.stdout.index("{"):])
    assert report["recovered"] is True and report["run_exit_code"] == 0
