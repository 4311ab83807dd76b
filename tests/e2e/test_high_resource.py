"""high-resource end to end: break the lab, run the real `jeju-play high-resource`, assert on the lab afterwards.

Usage is read the way an engineer reads it (`kubectl top pods`, `kubectl exec deploy/reth -- df -h`); after
each test reth is put back at one replica. The real `jeju-play drill` (which restarts the lab) runs last.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import LabHandle, artifact, classification, kubectl, log_volume_percent, run_cli, run_incident

NS = "op-stack"
THRESHOLD = 80  # inventories/local: jeju_thresholds.resource_percent


def reth_cpu_millicores(lab: LabHandle) -> list[int]:
    lines = kubectl(lab, "top", "pods", "-l", "app.kubernetes.io/name=reth", "--no-headers").splitlines()
    return [int(line.split()[1].removesuffix("m")) for line in lines]


def reth_replicas(lab: LabHandle) -> tuple[int, int]:
    deployment = json.loads(kubectl(lab, "get", "deployment/reth", "-o", "json"))
    return deployment["spec"]["replicas"], deployment["status"].get("readyReplicas", 0)


@pytest.fixture
def hr_lab(lab: LabHandle) -> Iterator[LabHandle]:
    kubectl(lab, "scale", "deployment/reth", "--replicas=1")
    kubectl(lab, "rollout", "status", "deployment/reth", "--timeout=30s")
    yield lab
    lab.lab.heal()
    kubectl(lab, "scale", "deployment/reth", "--replicas=1")
    kubectl(lab, "rollout", "status", "deployment/reth", "--timeout=30s")


def high_resource(lab: LabHandle, *args: str) -> tuple[Any, Path]:
    return run_incident(lab, "high-resource", *args, timeout=180)


def test_normal_usage_changes_nothing(hr_lab: LabHandle) -> None:
    pods = kubectl(hr_lab, "get", "pods", "-o", "name")
    done, record = high_resource(hr_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "normal"
    assert kubectl(hr_lab, "get", "pods", "-o", "name") == pods
    assert json.loads((record / "summary.json").read_text())["gates"] == []


def test_no_running_reth_is_handed_over_as_an_rpc_outage_and_changes_nothing(hr_lab: LabHandle) -> None:
    kubectl(hr_lab, "scale", "deployment/reth", "--replicas=0")
    deployment = kubectl(hr_lab, "get", "deployment/reth", "-o", "jsonpath={.metadata.resourceVersion}")
    done, record = high_resource(hr_lab, "--yes")
    assert done.returncode == 3, done.stdout + done.stderr
    assert classification(record) == "reth_down"
    assert kubectl(hr_lab, "get", "deployment/reth", "-o", "jsonpath={.metadata.resourceVersion}") == deployment
    summary = json.loads((record / "summary.json").read_text())
    assert summary["gates"] == [] and summary["escalation"]["level"] == 1
    assert "jeju-play rpc-down -i local" in summary["escalation"]["advice"]
    assert "  hand to: On-call engineer (level 1)" in done.stdout and "  next: Treat it as the P0" in done.stdout


def test_disk_full_check_then_old_logs_deleted(hr_lab: LabHandle) -> None:
    hr_lab.lab.break_fault("disk-full")
    assert log_volume_percent(hr_lab) > THRESHOLD

    checked, record = high_resource(hr_lab, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert classification(record) == "disk_full"
    [gate] = json.loads((record / "summary.json").read_text())["gates"]
    assert gate["decision"].startswith("would ask") and gate["kind"] == "delete"
    assert gate["change"]["command"] == 'find /var/log -name "*.log" -mtime +7 -delete'
    assert log_volume_percent(hr_lab) > THRESHOLD  # k8s_exec would run in check mode: it must be skipped

    done, record = high_resource(hr_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert log_volume_percent(hr_lab) < THRESHOLD
    [gate] = json.loads((record / "summary.json").read_text())["gates"]
    assert gate["kind"] == "delete" and gate["target"].endswith(":/var/log")
    report = artifact(record, "incident-report.md")
    assert "INCIDENT REPORT - High Resource Utilization" in report and "Status: Resolved" in report
    assert "Recovering" in report and "Network recovering" not in report  # the network never went down


def test_reth_cpu_high_scales_reth_out(hr_lab: LabHandle) -> None:
    hr_lab.lab.break_fault("rpc-overload")
    assert max(reth_cpu_millicores(hr_lab)) > 4000 * THRESHOLD // 100
    done, record = high_resource(hr_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "reth_cpu"
    assert reth_replicas(hr_lab) == (3, 3)
    assert max(reth_cpu_millicores(hr_lab)) < 4000 * THRESHOLD // 100
    drift = yaml.safe_load(artifact(record, "drift.yml"))["drift"]
    assert [(d["file"], d["key"], d["was"], d["live"]) for d in drift] == [("reth/values.yaml", "replicas", 1, 3)]


def reth_pod_names(lab: LabHandle) -> set[str]:
    return set(kubectl(lab, "get", "pods", "-l", "app.kubernetes.io/name=reth", "-o", "name").split())


def test_reth_memory_high_is_reclaimed_by_a_restart(hr_lab: LabHandle) -> None:
    hr_lab.lab.break_fault("reth-memory-high")
    before = reth_pod_names(hr_lab)
    done, record = high_resource(hr_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "reth_memory"
    assert reth_pod_names(hr_lab).isdisjoint(before)  # every reth pod is new
    gates = json.loads((record / "summary.json").read_text())["gates"]
    assert [(g["kind"], g["decision"]) for g in gates] == [("restart", "approved")]
    assert "Status: Resolved" in artifact(record, "incident-report.md")


def test_reth_memory_leak_is_escalated_after_one_restart(hr_lab: LabHandle) -> None:
    hr_lab.lab.break_fault("reth-memory-leak")
    done, record = high_resource(hr_lab, "--yes")
    assert done.returncode == 3, done.stdout + done.stderr
    summary = json.loads((record / "summary.json").read_text())
    assert [g["kind"] for g in summary["gates"]] == ["restart"]  # one restart, then humans
    assert summary["escalation"]["contact"] == "Development team" and "leak" in summary["message"]


def test_drill_disk_full_recovers(lab: LabHandle) -> None:
    """The real `jeju-play drill` (fresh lab, break, settle, run, check from outside). Restarts the lab: last."""
    done = run_cli("drill", "high-resource", "--fault", "disk-full", "--json", timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout[done.stdout.index("{"):])
    assert report["recovered"] is True and report["run_exit_code"] == 0
