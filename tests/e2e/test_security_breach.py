"""security-breach end to end: break the lab (exploit), run the real `jeju-play`, assert on the lab afterwards.

Runs that change the lab (pause, replicas 0) stop it at the end, so that the next test gets a fresh lab.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from web3 import Web3

from jeju_lab.chains import accounts
from jeju_lab.chains.safe_tools import execute, read_presigned
from jeju_lab.recovery import network_paused_and_stopped
from jeju_play import catalog, environments
from jeju_play.gates import ApprovalPolicy
from jeju_play.guards import standing_guard
from jeju_play.lock import RemediationLock
from tests.support import JEJU_PLAY, LabHandle, comms_captured, kube, lab_secrets, recorded_runs, run_cli, secrets_in

STACK = ("op-node", "op-batcher", "op-proposer")
EXEC_TRANSACTION = "0x6a761202"  # execTransaction(...)
PAUSED = "0x5c975abb"  # paused()


def l1(lab: LabHandle) -> Web3:
    return Web3(Web3.HTTPProvider(lab.state["endpoints"]["l1_anvil"]))


def paused(lab: LabHandle) -> bool:
    portal = lab.state["deployment"]["optimism_portal"]
    return int(l1(lab).eth.call({"to": portal, "data": PAUSED}).hex(), 16) == 1


def apps(lab: LabHandle) -> Any:
    clients = kube(lab)
    return clients.apps, clients.core


def stack_versions(lab: LabHandle) -> dict[str, tuple[str, int]]:
    deployments, _ = apps(lab)
    return {name: (d.metadata.resource_version, d.spec.replicas) for name in STACK
            for d in [deployments.read_namespaced_deployment(name, "op-stack")]}


def freeze_map(lab: LabHandle) -> Any:
    from kubernetes.client.exceptions import ApiException

    _, core = apps(lab)
    try:
        return core.read_namespaced_config_map("jeju-play-freeze", "op-stack")
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def sent_by(lab: LabHandle, first: int, senders: set[str]) -> list[Any]:
    w3 = l1(lab)
    found = []
    for number in range(first, w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx["from"].lower() in senders:
                found.append(tx)
    return found


def inventory_accounts() -> set[str]:
    """Accounts whose keys the lab's inventory holds: the funding wallet and the reachable guardian owner."""
    return {accounts.FUNDING_WALLET.address.lower(), accounts.GUARDIAN_OWNERS[0].address.lower()}


def last_run(lab: LabHandle) -> Path:
    return recorded_runs(Path(lab.env["JEJU_PLAY_RUNS"]))[-1]


def broken(lab: LabHandle) -> int:
    lab.lab.break_fault("exploit")
    deadline = time.monotonic() + 20
    while lab.lab.status()["faults"]["drained_wei"] == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert lab.lab.status()["faults"]["drained_wei"] > 0, "the attacker never drained the portal"
    return int(l1(lab).eth.block_number)


@pytest.fixture
def spent_lab(lab: LabHandle) -> Iterator[LabHandle]:
    """The session lab, stopped afterwards: a paused Safe and stopped Deployments must not leak into other tests."""
    try:
        yield lab
    finally:
        lab.lab.down()


def test_check_mode_on_a_broken_lab_changes_nothing(lab: LabHandle) -> None:
    first = broken(lab)
    before = stack_versions(lab)
    result = run_cli("security-breach", "-i", "local", "--check", "--json")
    assert result.returncode == 0, result.stderr
    assert stack_versions(lab) == before
    assert not paused(lab)
    assert freeze_map(lab) is None
    assert sent_by(lab, first, inventory_accounts()) == []
    summary = json.loads(result.stdout)
    assert [g["decision"] for g in summary["gates"]] == ["would ask (check mode)"] * 4


def test_a_refused_gate_leaves_the_lab_as_it_was(lab: LabHandle) -> None:
    first = broken(lab)
    before = stack_versions(lab)
    result = run_cli("security-breach", "-i", "local", "-e", "jeju_gate_timeout_seconds=1")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "Refused at gate: Pause the system" in result.stdout
    assert stack_versions(lab) == before
    assert not paused(lab)
    assert freeze_map(lab) is None
    assert sent_by(lab, first, inventory_accounts()) == []


def test_pre_signed_pause_stops_the_exploit_and_only_pauses_on_chain(spent_lab: LabHandle) -> None:
    lab = spent_lab
    first = broken(lab)
    result = run_cli("security-breach", "-i", "local", "--yes", "-e", "suspects=")
    assert result.returncode == 0, result.stdout + result.stderr
    verdict = network_paused_and_stopped(lab.lab)
    assert verdict.recovered, verdict.problems
    ours = sent_by(lab, first, inventory_accounts())
    assert len(ours) == 1, [t["hash"].hex() for t in ours]
    pause = ours[0]
    assert pause["to"].lower() == lab.state["deployment"]["guardian_safe"].lower()
    assert Web3.to_hex(pause["input"]).startswith(EXEC_TRANSACTION)
    frozen = freeze_map(lab)
    assert frozen is not None and set(frozen.data["components"].split(",")) == set(STACK)
    evidence = json.loads((last_run(lab) / "artifacts" / "evidence.json").read_text())
    assert evidence["pause"]["tx_hash"] == Web3.to_hex(pause["hash"])
    assert evidence["pause"]["signed_with"] == "pre-signed file"
    assert accounts.ATTACKER.address in [s["address"] for s in evidence["suspects"]]
    # The portal's balance also moves with the lab user's deposits: the attacker's take is what must stop.
    assert int(evidence["balances_after_wei"]["optimism_portal"]) > 0
    drained = lab.lab.status()["faults"]["drained_wei"]
    time.sleep(4.0)  # two of the attacker's attempts (one every 2 s) after the pause
    assert lab.lab.status()["faults"]["drained_wei"] == drained, "the attacker still drains the paused portal"
    assert any(row["senders"] == [accounts.ATTACKER.address] for row in evidence["outflows"])
    op_node = next(s for s in evidence["stopped"] if s["deployment"] == "op-node")
    assert re.fullmatch(r"0x[0-9a-f]{64}", op_node["last_unsafe_head_hash"])
    assert "- [ ] Legal Counsel" in (last_run(lab) / "artifacts" / "checklist.md").read_text()
    assert_message_discloses_nothing(last_run(lab))
    assert_contained_not_resolved_and_public_says_nothing(lab, last_run(lab))
    assert_freeze_blocks_restarts_until_lifted()


def assert_contained_not_resolved_and_public_says_nothing(lab: LabHandle, run: Path) -> None:
    """The pause contains the breach; it does not end it: the page is acknowledged, not resolved, the incident stays
    open, and the status page (the public) reads the runbook's notice with no address, hash or component."""
    incident = json.loads((run / "summary.json").read_text())["incident_id"]
    assert incident, "the run worked on no incident"
    calls = comms_captured(lab)
    pages = [c["body"]["event_action"] for c in calls if c["service"] == "pagerduty"
             and c["body"].get("dedup_key") == incident and c["answered"] < 300]
    assert "trigger" in pages and "acknowledge" in pages and "resolve" not in pages, pages
    shown = run_cli("incidents", "show", incident, env_extra=lab.env)
    assert shown.returncode == 0 and "Status: OPEN" in shown.stdout, shown.stdout + shown.stderr
    public = [c["body"]["incident"] for c in calls if c["service"] == "statuspage"]
    ours = [p for p in public if p.get("name") == "Network paused" or "paused the Jeju network" in str(p.get("body"))]
    assert ours, public
    for update in ours:
        text = json.dumps(update)
        assert not re.search(r"0x[0-9a-fA-F]{8,}", text) and "op-node" not in text and "Safe" not in text, text


def assert_message_discloses_nothing(run: Path) -> None:
    message = (run / "artifacts" / "public-message.md").read_text()
    assert "CRITICAL SECURITY INCIDENT" in message
    technical = set(re.findall(r"0x[0-9a-fA-F]{40,64}", (run / "events.jsonl").read_text()))
    technical |= set(re.findall(r"0x[0-9a-fA-F]{40,64}", (run / "artifacts" / "evidence.json").read_text()))
    assert technical, "the run recorded no address or hash at all"
    assert not re.search(r"0x[0-9a-fA-F]{8,}|\b\d{6,}\b", message)
    assert not any(value.lower() in message.lower() for value in technical)


def assert_freeze_blocks_restarts_until_lifted() -> None:
    refused = run_cli("network-down", "-i", "local", "--yes")
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "jeju-play freeze lift -i local --reason" in " ".join(refused.stderr.split())
    assert "FROZEN" in run_cli("freeze", "status", "-i", "local").stdout
    lifted = run_cli("freeze", "lift", "-i", "local", "--reason", "drill over")
    assert lifted.returncode == 0, lifted.stderr
    status = json.loads(run_cli("freeze", "status", "-i", "local", "--json").stdout)
    assert status["frozen"] is False and status["freeze"]["lift_reason"] == "drill over"


def with_owner_keys(lab: LabHandle, tmp_path: Path, keys: list[str], presigned_dir: Path) -> Path:
    """A copy of the lab's inventory with these guardian owner keys and this pre-signed folder."""
    inventory = tmp_path / "local-keys"
    shutil.copytree(Path(lab.env["JEJU_PLAY_HOME"]) / "inventories" / "local", inventory)
    (inventory / "group_vars" / "all" / "zz-owner-keys.yml").write_text(yaml.safe_dump(
        {"vault_guardian_owner_keys": keys, "jeju_presigned_dir": str(presigned_dir)}))
    return inventory


def test_two_reachable_owner_keys_pause_without_a_pre_signed_file(spent_lab: LabHandle, tmp_path: Path) -> None:
    lab = spent_lab
    first = broken(lab)
    keys = [o.private_key() for o in accounts.GUARDIAN_OWNERS[:2]]
    inventory = with_owner_keys(lab, tmp_path, keys, tmp_path / "no-presigned")
    local = environments.load(lab.project, "local")
    remediation = RemediationLock(local, holder="alice@laptop run 1")  # a network-down run waiting at a gate
    remediation.acquire()
    try:
        result = run_cli("security-breach", "-i", str(inventory), "--yes")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Took the remediation lock over from alice@laptop run 1" in " ".join(result.stdout.split())
        network_down = catalog.load(lab.project).get("network-down")
        alice_gates = ApprovalPolicy(operator="alice@laptop", environment="local", production=False,
                                     preapproved=True, guard=standing_guard(local, network_down))
        assert alice_gates.decide({"description": "Rollout restart op-node"})["approved"] is False
    finally:
        remediation.release()
    assert paused(lab)
    ours = sent_by(lab, first, {o.address.lower() for o in accounts.GUARDIAN_OWNERS[:2]} | inventory_accounts())
    assert len(ours) == 1 and Web3.to_hex(ours[0]["input"]).startswith(EXEC_TRANSACTION)
    evidence = json.loads((last_run(lab) / "artifacts" / "evidence.json").read_text())
    assert evidence["pause"]["signed_with"] == "owner keys"


def test_one_key_and_no_file_waits_for_the_other_owners(spent_lab: LabHandle, tmp_path: Path) -> None:
    """The run prints the Safe transaction and waits; the other owners execute their pre-signed pause."""
    lab = spent_lab
    broken(lab)
    lab_presigned = Path(lab.env["JEJU_PLAY_LAB_DIR"]) / "presigned" / "ready-0.json"
    inventory = with_owner_keys(lab, tmp_path, [accounts.GUARDIAN_OWNERS[0].private_key()], tmp_path / "none")
    process = subprocess.Popen([str(JEJU_PLAY), "security-breach", "-i", str(inventory), "--yes"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        request = None
        deadline = time.monotonic() + 60
        while request is None and time.monotonic() < deadline and process.poll() is None:
            runs = recorded_runs(Path(lab.env["JEJU_PLAY_RUNS"]))
            candidates = [r / "artifacts" / "pause-request.json" for r in runs]
            request = next((c for c in candidates if c.exists()), None)
            time.sleep(0.2)
        assert request is not None, "the run never wrote the pause request for the other owners"
        asked = json.loads(request.read_text())
        assert asked["safe_nonce"] == "0" or asked["safe_nonce"] == 0
        execute(l1(lab), read_presigned(lab_presigned), accounts.GUARDIAN_OWNERS[2])
        out, err = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, out + err
    assert paused(lab)
    assert stack_versions(lab)["op-batcher"][1] == 0


def test_one_key_no_file_and_nobody_signs_escalates_with_the_safe_transaction(
        spent_lab: LabHandle, tmp_path: Path) -> None:
    lab = spent_lab
    broken(lab)
    inventory = with_owner_keys(lab, tmp_path, [accounts.GUARDIAN_OWNERS[0].private_key()], tmp_path / "none")
    result = run_cli("security-breach", "-i", str(inventory), "--yes", "-e",
                     'jeju_security_breach={"pause_wait_seconds": 2, "pause_poll_seconds": 1,'
                     ' "evidence_window_blocks": 150}')  # extra vars replace the whole dict
    assert result.returncode == 3, result.stdout + result.stderr
    request = json.loads((last_run(lab) / "artifacts" / "pause-request.json").read_text())
    assert re.fullmatch(r"0x[0-9a-f]{64}", request["safe_tx_hash"])
    assert request["data"].startswith("0x6da66355")
    assert request["safe_tx_hash"] in result.stdout.replace("\n", "")
    assert not paused(lab)
    assert all(replicas == 0 for _, replicas in stack_versions(lab).values())
    assert freeze_map(lab) is not None


def test_drill_security_breach_exploit(spent_lab: LabHandle, tmp_path: Path) -> None:
    # The drill restarts the lab from its own process; a supervisor that is pytest's child would linger there as
    # a zombie the drill cannot reap (pid_alive would never turn false), so stop it from here first.
    spent_lab.lab.down()
    deleted = tmp_path / "deleted"
    result = run_cli("drill", "security-breach", "--fault", "exploit", "--json", timeout=300, keep_deleted=deleted)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["recovered"] is True
    assert report["facts"]["portal_paused"] is True
    assert report["facts"]["replicas"] == {"op-node": 0, "op-batcher": 0, "op-proposer": 0}
    # The Safe owner key signed the pause and the comms secrets told everyone: none of them anywhere but the
    # inventory, not in the terminal, the records, the lab's folder or ansible-runner's private data dirs.
    assert list(deleted.glob("*jeju-play-*")), "no private data dir was kept to scan"
    secrets = lab_secrets(spent_lab)
    assert {"vault_guardian_owner_keys[0]", "vault_statuspage_api_key"} <= set(secrets)
    assert secrets_in(secrets, texts={"the terminal": result.stdout + result.stderr},
                      folders=(spent_lab.project / "runs", spent_lab.project / ".lab", deleted)) == []
