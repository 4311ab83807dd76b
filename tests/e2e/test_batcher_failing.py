"""batcher-failing end to end: break the lab, run the real `jeju-play batcher-failing`, assert on the lab afterwards.

Each test waits for the symptom (no transaction from the batcher for longer than the inventory's
batch_stall_seconds) before running the playbook, then checks L1, the op-batcher Deployment and the run record.
After each test op-batcher is put back as the lab started it. The real `jeju-play drill` (which restarts the
lab) runs last.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jeju_lab.anvil import free_port, rpc_call
from tests.support import LabHandle, artifact, comms_captured, kube, lab_secrets, run_cli, run_incident, secrets_in

NS = "op-stack"
FEE_LIMIT = "OP_BATCHER_TXMGR_FEE_LIMIT_THRESHOLD"
ALTDA = "OP_BATCHER_ALTDA_ENABLED"
SEEDED_ENV = {FEE_LIMIT: "100", ALTDA: "true"}  # jeju_lab/topology.py
STALL_SECONDS = 15  # inventories/local: jeju_thresholds.batch_stall_seconds


def apps(lab: LabHandle) -> Any:
    return kube(lab).apps


def batcher_env(lab: LabHandle) -> dict[str, str]:
    deployment = apps(lab).read_namespaced_deployment("op-batcher", NS)
    return {e.name: e.value for e in deployment.spec.template.spec.containers[0].env}


def batcher_nonce(lab: LabHandle) -> int:
    l1, batcher = lab.state["endpoints"]["l1_anvil"], lab.state["deployment"]["batcher"]
    return int(rpc_call(l1, "eth_getTransactionCount", [batcher, "latest"]), 16)


def wait_for_batch_stall(lab: LabHandle) -> int:
    """The symptom: the batcher's nonce has not moved for longer than the stall threshold."""
    nonce, since = batcher_nonce(lab), time.monotonic()
    deadline = since + 60
    while time.monotonic() - since < STALL_SECONDS + 1:
        assert time.monotonic() < deadline, "the batcher never stopped batching"
        time.sleep(1)
        current = batcher_nonce(lab)
        if current != nonce:
            nonce, since = current, time.monotonic()
    return nonce


def batches_land(lab: LabHandle, after_nonce: int, limit: float = 20) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if batcher_nonce(lab) > after_nonce:
            return True
        time.sleep(1)
    return False


def reset_batcher(lab: LabHandle) -> None:
    if batcher_env(lab) != batcher_env(lab) | SEEDED_ENV:
        env = [{"name": k, "value": v} for k, v in SEEDED_ENV.items()]
        apps(lab).patch_namespaced_deployment(
            "op-batcher", NS, {"spec": {"template": {"spec": {"containers": [{"name": "op-batcher", "env": env}]}}}})


@pytest.fixture
def bf_lab(lab: LabHandle) -> Iterator[LabHandle]:
    reset_batcher(lab)
    assert batches_land(lab, batcher_nonce(lab)), "the lab's batcher is not batching"  # a fresh lab needs a moment
    yield lab
    lab.lab.heal()
    reset_batcher(lab)


def batcher_failing(lab: LabHandle, *args: str) -> tuple[Any, Path]:
    return run_incident(lab, "batcher-failing", *args, timeout=240)


def cause(record: Path) -> str:
    return str(json.loads(artifact(record, "diagnosis.json"))["cause"])


def test_healthy_batcher_is_not_failing_and_nothing_changes(bf_lab: LabHandle) -> None:
    version = apps(bf_lab).read_namespaced_deployment("op-batcher", NS).metadata.resource_version
    done, record = batcher_failing(bf_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert cause(record) == "not_failing"
    assert apps(bf_lab).read_namespaced_deployment("op-batcher", NS).metadata.resource_version == version
    assert json.loads((record / "summary.json").read_text())["gates"] == []


def test_l1_that_does_not_answer_is_escalated_and_the_batcher_left_alone(bf_lab: LabHandle) -> None:
    version = apps(bf_lab).read_namespaced_deployment("op-batcher", NS).metadata.resource_version
    dead_l1 = json.dumps([f"http://127.0.0.1:{free_port()}"])
    done, record = batcher_failing(bf_lab, "--yes", "-e", f"jeju_l1_rpc_urls={dead_l1}")
    assert done.returncode == 3, done.stdout + done.stderr
    assert cause(record) == "l1_down"
    assert apps(bf_lab).read_namespaced_deployment("op-batcher", NS).metadata.resource_version == version
    summary = json.loads((record / "summary.json").read_text())
    assert summary["gates"] == [] and summary["escalation"]["contact"].startswith("L1 RPC providers")


def test_a_batcher_with_no_pod_is_escalated_with_what_was_seen(bf_lab: LabHandle) -> None:
    apps(bf_lab).patch_namespaced_deployment_scale("op-batcher", NS, {"spec": {"replicas": 0}})
    try:
        wait_for_batch_stall(bf_lab)
        done, record = batcher_failing(bf_lab, "--yes")
        assert done.returncode == 3, done.stdout + done.stderr
        assert cause(record) == "other"
        assert apps(bf_lab).read_namespaced_deployment("op-batcher", NS).spec.replicas == 0
        summary = json.loads((record / "summary.json").read_text())
        assert summary["gates"] == [] and "op-batcher has 0 Ready pod(s), 0 desired" in summary["message"]
    finally:
        apps(bf_lab).patch_namespaced_deployment_scale("op-batcher", NS, {"spec": {"replicas": 1}})


def test_gas_spike_raises_the_fee_limit(bf_lab: LabHandle) -> None:
    bf_lab.lab.break_fault("gas-spike")
    nonce = wait_for_batch_stall(bf_lab)

    fixed, record = batcher_failing(bf_lab, "--yes")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert cause(record) == "gas_spike"
    live = int(batcher_env(bf_lab)[FEE_LIMIT])
    assert 200 <= live <= 1000  # inventories/local: fee_limit_gwei .. fee_limit_max_gwei
    assert live > 2 * 300  # the spike's base fee is 300 gwei; the txmgr's fee cap is 2 x base fee + tip
    assert batches_land(bf_lab, nonce)
    drift = yaml.safe_load(artifact(record, "drift.yml"))["drift"]
    assert [(d["file"], d["key"], d["live"]) for d in drift] == [("op-batcher/values.yaml", "maxGasPrice", live)]
    assert "INCIDENT REPORT - Batcher Failing to Submit Batches" in artifact(record, "incident-report.md")
    assert_on_call_paged_once_per_step(bf_lab, record)


def assert_on_call_paged_once_per_step(lab: LabHandle, record: Path) -> None:
    """A P1: on-call is paged (severity error) when it opens, acknowledged at the change, resolved when verified,
    each once under the incident's one dedup key, and the status page shows the batches as a partial outage."""
    incident = json.loads((record / "summary.json").read_text())["incident_id"]
    lab_vars = yaml.safe_load((lab.project / "inventories/local/group_vars/all/lab.yml").read_text())
    on_call = lab_vars["vault_pagerduty_routing_keys"]["on_call"]
    calls = comms_captured(lab)
    pages = [c["body"] for c in calls if c["service"] == "pagerduty" and c["answered"] < 300
             and c["body"].get("dedup_key") == incident and c["body"].get("routing_key") == on_call]
    assert [p["event_action"] for p in pages] == ["trigger", "acknowledge", "resolve"], pages
    assert pages[0]["payload"]["severity"] == "error"
    batches = lab_vars["jeju_statuspage"]["components"]["batches"]
    public = [c["body"]["incident"].get("components") for c in calls if c["service"] == "statuspage"]
    assert {batches: "partial_outage"} in public and {batches: "operational"} in public, public
    listed = json.loads(run_cli("incidents", "--all", "--json", env_extra=lab.env).stdout)
    assert next(i for i in listed if i["id"] == incident)["status"] == "closed"


def test_eigenda_down_switches_to_calldata(bf_lab: LabHandle) -> None:
    bf_lab.lab.break_fault("eigenda-down")
    nonce = wait_for_batch_stall(bf_lab)

    fixed, record = batcher_failing(bf_lab, "--yes")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert cause(record) == "da_down"
    assert batcher_env(bf_lab)[ALTDA] == "false"
    assert batches_land(bf_lab, nonce)
    drift = yaml.safe_load(artifact(record, "drift.yml"))["drift"]
    assert [(d["key"], d["live"]) for d in drift] == [("useEigenDA", False)]


def test_drill_batcher_unfunded_recovers(lab: LabHandle, tmp_path: Path) -> None:
    """The real `jeju-play drill` (fresh lab, break, settle, run, check from outside). Restarts the lab: last."""
    deleted = tmp_path / "deleted"
    done = run_cli("drill", "batcher-failing", "--fault", "batcher-unfunded", "--json", timeout=240,
                   keep_deleted=deleted)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["recovered"] is True, report
    assert report["facts"]["batcher_nonce_after"] > report["facts"]["batcher_nonce_before"]
    # The funding key signed the top-up: it is nowhere but the inventory (not in the terminal, the records, the
    # lab's folder or ansible-runner's private data dirs, copied just before their deletion).
    assert list(deleted.glob("*jeju-play-*")), "no private data dir was kept to scan"
    secrets = lab_secrets(lab)
    assert "vault_funding_key" in secrets
    assert secrets_in(secrets, texts={"the terminal": done.stdout + done.stderr},
                      folders=(lab.project / "runs", lab.project / ".lab", deleted)) == []
