"""daily-checks and handoff end to end on the lab: read-only, a report a person can use, the right exit code."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from jeju_lab.recovery import wait_until_steady
from tests.e2e.test_rpc_down import reset as reset_rpc
from tests.e2e.test_rpc_down import serving
from tests.support import LabHandle, recorded_runs, run_cli, wait_until


def newest_run(lab: LabHandle, incident: str) -> Path:
    runs = [r for r in recorded_runs(lab.project / "runs") if f"-{incident}-" in r.name]
    assert runs, f"no {incident} run recorded"
    return runs[-1]


def kubectl(lab: LabHandle, *args: str) -> str:
    return subprocess.run(["kubectl", "--kubeconfig", lab.kubeconfig, "-n", "op-stack", *args],
                          capture_output=True, text=True, check=True).stdout


def resource_versions(lab: LabHandle) -> dict[str, str]:
    listing: dict[str, Any] = json.loads(kubectl(lab, "get", "deployments", "-o", "json"))
    return {d["metadata"]["name"]: d["metadata"]["resourceVersion"] for d in listing["items"]}


def test_daily_checks_pass_on_a_healthy_lab_and_change_nothing(lab: LabHandle) -> None:
    # batching again too: an earlier test's healed fault may have paused batches, and the check looks back 15 s
    assert wait_until_steady(lab.lab, batching=True), "the lab did not batch again within 90 s"
    before = resource_versions(lab)
    result = run_cli("daily-checks", "-i", "local", env_extra=lab.env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert resource_versions(lab) == before
    report = (newest_run(lab, "daily-checks") / "artifacts" / "daily-checks.md").read_text()
    assert "FAILED" not in report
    assert report.count("| ok |") == 9
    assert "Check Discord for user reports" in report


def test_daily_checks_name_the_incident_to_run(lab: LabHandle) -> None:
    lab.lab.break_fault("batcher-unfunded")
    result = run_cli("daily-checks", "-i", "local", env_extra=lab.env)
    assert result.returncode == 1
    report = (newest_run(lab, "daily-checks") / "artifacts" / "daily-checks.md").read_text()
    balances = next(line for line in report.splitlines() if line.startswith("| Account balances"))
    assert "FAILED" in balances and "below 2 ETH: batcher" in balances
    assert "jeju-play low-balance -i local" in balances
    assert "jeju-play low-balance -i local" in " ".join(result.stdout.split())


def test_handoff_lists_open_incidents_and_the_freeze(lab: LabHandle) -> None:
    lab.lab.break_fault("rpc-selector-broken")  # rpc-down reports the selector drift and hands it to humans
    try:
        wait_until(lambda: not serving(lab), "the public RPC down")
        manual = run_cli("rpc-down", "-i", "local", env_extra=lab.env)
    finally:
        lab.lab.heal()
        reset_rpc(lab)
    assert manual.returncode == 3, manual.stdout + manual.stderr
    open_run = newest_run(lab, "rpc-down").name
    freeze = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "jeju-play-freeze"},
              "data": {"state": "frozen", "frozen_by": "alice@laptop", "frozen_at": "2026-11-27T03:00:00Z",
                       "run_id": "breach-run", "reason": "portal drained",
                       "components": "op-node,op-batcher,op-proposer",
                       "lift": "jeju-play freeze lift -i local --reason '...'"}}
    subprocess.run(["kubectl", "--kubeconfig", lab.kubeconfig, "-n", "op-stack", "apply", "-f", "-"],
                   input=json.dumps(freeze), text=True, capture_output=True, check=True)
    try:
        result = run_cli("handoff", "-i", "local", env_extra=lab.env)
    finally:
        kubectl(lab, "delete", "configmap", "jeju-play-freeze")
    assert result.returncode == 0, result.stdout + result.stderr
    note = (newest_run(lab, "handoff") / "artifacts" / "handoff.md").read_text()
    assert open_run in note and "| rpc-down | escalated | 3 |" in note
    assert "SECURITY FREEZE in place" in note and "alice@laptop" in note
    assert note.count("- ok:") == 4
    assert "- [ ] Test paging system with incoming engineer" in note


def test_handoff_fails_when_a_system_does_not_answer(lab: LabHandle) -> None:
    lab.lab.break_fault("l1-rpc-down")  # the primary refuses; the backup still answers
    assert run_cli("handoff", "-i", "local", env_extra=lab.env).returncode == 0
    vars_file = lab.project / "inventories" / "local" / "group_vars" / "all" / "lab.yml"
    original = vars_file.read_text()
    backup = lab.state["endpoints"]["l1_rpc_urls"][1]
    vars_file.write_text(original.replace(backup, "http://127.0.0.1:9"))  # nothing listens on port 9
    try:
        result = run_cli("handoff", "-i", "local", env_extra=lab.env)
    finally:
        vars_file.write_text(original)
    assert result.returncode == 1
    assert "Cannot reach: L1 RPC" in " ".join(result.stdout.split())


def test_daily_checks_report_an_endpoint_that_does_not_answer(lab: LabHandle) -> None:
    vars_file = lab.project / "inventories" / "local" / "group_vars" / "all" / "lab.yml"
    original = vars_file.read_text()
    vars_file.write_text(original.replace(lab.state["endpoints"]["l2_rpc_urls"][0], "http://127.0.0.1:9"))
    try:
        result = run_cli("daily-checks", "-i", "local", env_extra=lab.env)
    finally:
        vars_file.write_text(original)
    assert result.returncode == 1
    report = (newest_run(lab, "daily-checks") / "artifacts" / "daily-checks.md").read_text()
    failed = [line.split("|")[1].strip() for line in report.splitlines() if "| FAILED |" in line]
    assert {"Public RPC endpoint", "L2 block production"} <= set(failed)
    l2_line = next(line for line in report.splitlines() if line.startswith("| L2 block production"))
    assert "127.0.0.1:9" in l2_line and "Connection refused" in l2_line


def test_drill_daily_checks_runs_the_routine_on_a_fresh_healthy_lab(lab: LabHandle) -> None:
    """A routine procedure has no fault to break: its drill warms a fresh lab up and runs it. Restarts the lab: last."""
    done = run_cli("drill", "daily-checks", "--json", env_extra=lab.env, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout[done.stdout.index("{"):])
    assert report["fault"] == "none (routine procedure)" and report["run_exit_code"] == 0
    assert "lab_warm_up" in report["seconds"]
    summary = json.loads((Path(report["record"]) / "summary.json").read_text())
    assert summary["incident"] == "daily-checks" and summary["outcome"] == "verified"
