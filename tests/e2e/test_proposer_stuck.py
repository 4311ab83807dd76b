"""proposer-stuck end to end: break the lab, run the real `jeju-play proposer-stuck`, assert on the lab afterwards.

Assertions read the L1 chain (balances, nonces, the L2OutputOracle), op-node and the Kubernetes objects, and the
run record; never the playbook's own words. No `jeju-play drill` here (it restarts the lab, ~45 s): the
partition test applies the drill's own outside check (jeju_lab.recovery.outputs_proposed) instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from web3 import Web3
from web3.exceptions import ContractLogicError

from jeju_lab.anvil import rpc_call
from jeju_lab.attacker import conflicting_root
from jeju_lab.recovery import outputs_proposed
from tests.support import LabHandle, artifact, classification, kube, run_incident, wait_until

NS = "op-stack"
VARS_FILE = Path(__file__).resolve().parents[2] / "inventories" / "local" / "group_vars" / "all" / "vars.yml"
STALL_SECONDS = 8  # output_stall_seconds for the silent-stall test (the lab inventory's 90 s is too long to wait)
ORACLE_ABI = [
    {"name": "latestOutputIndex", "type": "function", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint256"}]},
    {"name": "nextBlockNumber", "type": "function", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint256"}]},
    {"name": "getL2Output", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "index", "type": "uint256"}],
     "outputs": [{"name": "", "type": "tuple", "components": [
         {"name": "outputRoot", "type": "bytes32"}, {"name": "timestamp", "type": "uint128"},
         {"name": "l2BlockNumber", "type": "uint128"}]}]},
]


def l1(lab: LabHandle) -> Web3:
    return Web3(Web3.HTTPProvider(lab.state["endpoints"]["l1_anvil"]))


def oracle(lab: LabHandle) -> Any:
    return l1(lab).eth.contract(address=lab.state["deployment"]["l2_output_oracle"], abi=ORACLE_ABI)


def latest_output(lab: LabHandle) -> tuple[int, str, int] | None:
    """(index, root, L2 block) of the latest output, None while nothing was proposed."""
    try:
        index = oracle(lab).functions.latestOutputIndex().call()
    except ContractLogicError:  # latestOutputIndex() reverts while the oracle is empty
        return None
    root, _timestamp, l2_block = oracle(lab).functions.getL2Output(index).call()
    return index, "0x" + bytes(root).hex(), l2_block


def inventory_file(lab: LabHandle) -> Path:
    return lab.project / "inventories" / "local" / "group_vars" / "all" / "lab.yml"


def inventory_addresses(lab: LabHandle) -> dict[str, str]:
    return dict(yaml.safe_load(inventory_file(lab).read_text())["jeju_addresses"])


def op_node_root(lab: LabHandle, l2_block: int) -> str:
    reply = rpc_call(lab.state["endpoints"]["op_node_rpc_url"], "optimism_outputAtBlock", [hex(l2_block)])
    assert isinstance(reply, dict)
    return str(reply["outputRoot"]).lower()


def balance_eth(lab: LabHandle, account: str) -> float:
    return l1(lab).eth.get_balance(lab.state["deployment"][account]) / 10**18


def proposer_deployment(lab: LabHandle) -> Any:
    return kube(lab).apps.read_namespaced_deployment("op-proposer", NS)


def proposer_pods(lab: LabHandle) -> set[str]:
    pods = kube(lab).core.list_namespaced_pod(NS, label_selector="app.kubernetes.io/name=op-proposer")
    return {p.metadata.name for p in pods.items}


def proposed_after(lab: LabHandle, before: tuple[int, str, int] | None) -> tuple[int, str, int]:
    """The oracle's latest output, asserting it is newer than `before` and matches op-node's root."""
    after = latest_output(lab)
    assert after is not None and (before is None or after[0] > before[0]), (before, after)
    assert after[1] == op_node_root(lab, after[2])
    return after


@pytest.fixture
def ps_lab(lab: LabHandle) -> Iterator[LabHandle]:
    wait_until(lambda: latest_output(lab) is not None, "a first output on the oracle")
    yield lab
    lab.lab.heal()


def proposer_stuck(lab: LabHandle, *args: str) -> tuple[Any, Path]:
    return run_incident(lab, "proposer-stuck", *args, timeout=240)


def test_healthy_proposer_is_not_stuck_and_nothing_changes(ps_lab: LabHandle) -> None:
    version = proposer_deployment(ps_lab).metadata.resource_version
    done, record = proposer_stuck(ps_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "not_stuck"
    assert proposer_deployment(ps_lab).metadata.resource_version == version
    assert json.loads((record / "summary.json").read_text())["gates"] == []
    assert "op-node:8547" in artifact(record, "classification")  # the runbook's wrong port is called out


def test_unfunded_proposer_check_then_topped_up(ps_lab: LabHandle) -> None:
    ps_lab.lab.break_fault("proposer-unfunded")
    starved = balance_eth(ps_lab, "proposer")
    assert starved < 0.001
    funding_wallet = inventory_addresses(ps_lab)["funding_wallet"]
    funding_nonce = l1(ps_lab).eth.get_transaction_count(funding_wallet)

    checked, record = proposer_stuck(ps_lab, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert classification(record) == "unfunded"
    assert "would ask" in checked.stdout
    assert balance_eth(ps_lab, "proposer") == starved
    assert l1(ps_lab).eth.get_transaction_count(funding_wallet) == funding_nonce

    before = latest_output(ps_lab)
    fixed, record = proposer_stuck(ps_lab, "--yes")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert 3.9 < balance_eth(ps_lab, "proposer") <= 4.0  # topped up to the inventory's target (4), less gas
    proposed_after(ps_lab, before)
    gates = json.loads((record / "summary.json").read_text())["gates"]
    assert [g["kind"] for g in gates] == ["transfer"]
    assert l1(ps_lab).eth.get_transaction_count(funding_wallet) == funding_nonce + 1  # one transfer
    assert str(yaml.safe_load(inventory_file(ps_lab).read_text())["vault_funding_key"]) not in fixed.stdout
    report = artifact(record, "incident-report.md")
    assert "INCIDENT REPORT - Proposer Stuck" in report and "Status: Resolved" in report


def test_partitioned_proposer_is_restarted(ps_lab: LabHandle) -> None:
    ps_lab.lab.break_fault("proposer-partitioned")
    partitioned = proposer_pods(ps_lab)
    before = latest_output(ps_lab)
    done, record = proposer_stuck(ps_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "op_node_unreachable"
    assert partitioned.isdisjoint(proposer_pods(ps_lab))
    assert "kubectl.kubernetes.io/restartedAt" in (
        proposer_deployment(ps_lab).spec.template.metadata.annotations or {})
    proposed_after(ps_lab, before)
    verdict = outputs_proposed(ps_lab.lab)  # what `jeju-play drill` checks from outside
    assert verdict.recovered, verdict.problems


def test_stalled_batcher_is_handed_to_batcher_failing(ps_lab: LabHandle) -> None:
    """The silent stall: no batches, so the finalized head stays below nextBlockNumber() and nothing is proposed.

    The lab's output_stall_seconds (90 s) is lowered for this run so that the test does not wait for it.
    """
    healthy = latest_output(ps_lab)
    wait_until(lambda: latest_output(ps_lab) != healthy, "a new output from a healthy proposer", limit=60)
    ps_lab.lab.break_fault("batcher-unfunded")

    def output_age() -> int:
        output = latest_output(ps_lab)
        assert output is not None
        timestamp = oracle(ps_lab).functions.getL2Output(output[0]).call()[1]
        return int(l1(ps_lab).eth.get_block("latest")["timestamp"]) - int(timestamp)

    def stalled() -> bool:
        """Overdue, and no output can come: op-node's safe head (what batches landed) is below the next block
        due. Batches that landed before the batcher ran dry still finalize for a while, so the age alone is
        not the stall: the proposer may still catch up to them (seen under CI load)."""
        status = rpc_call(ps_lab.state["endpoints"]["op_node_rpc_url"], "optimism_syncStatus")
        due = oracle(ps_lab).functions.nextBlockNumber().call()
        return int(status["safe_l2"]["number"]) < due and output_age() > STALL_SECONDS + 2

    wait_until(stalled, "an overdue output that no landed batch can bring", limit=120)
    before = latest_output(ps_lab)
    thresholds = yaml.safe_load(VARS_FILE.read_text())["jeju_thresholds"] | {"output_stall_seconds": STALL_SECONDS}
    done, record = proposer_stuck(ps_lab, "--yes", "-e", "jeju_thresholds=" + json.dumps(thresholds))
    assert done.returncode == 3, done.stdout + done.stderr
    assert classification(record) == "batcher_stalled"
    summary = json.loads((record / "summary.json").read_text())
    assert summary["gates"] == [] and "finalized L2 head" in summary["message"]
    assert "jeju-play batcher-failing" in artifact(record, "incident-report.md")
    assert latest_output(ps_lab) == before


def test_conflicting_output_escalates_as_security_incident_and_sends_nothing(ps_lab: LabHandle) -> None:
    ps_lab.lab.break_fault("conflicting-output")  # returns once the oracle took the bogus root
    bogus = latest_output(ps_lab)
    assert bogus is not None and bogus[1] == "0x" + conflicting_root(bogus[2]).hex()
    index = bogus[0]
    deployment = ps_lab.state["deployment"]
    nonces = {who: l1(ps_lab).eth.get_transaction_count(deployment[who]) for who in ("challenger", "guardian_safe")}
    version = proposer_deployment(ps_lab).metadata.resource_version

    done, record = proposer_stuck(ps_lab, "--yes")
    assert done.returncode == 3, done.stdout + done.stderr
    assert classification(record) == "conflicting_output"
    summary = json.loads((record / "summary.json").read_text())
    assert summary["gates"] == [] and f"Output {index} " in summary["message"]
    assert "our proposer key" in summary["message"]
    report = artifact(record, "incident-report.md")
    assert "Status: Escalated" in report and "jeju-play security-breach" in report and "deleteL2Outputs" in report
    root, _timestamp, l2_block = oracle(ps_lab).functions.getL2Output(index).call()
    assert bytes(root) == conflicting_root(l2_block)  # nothing deleted it
    assert {who: l1(ps_lab).eth.get_transaction_count(deployment[who]) for who in nonces} == nonces
    assert proposer_deployment(ps_lab).metadata.resource_version == version
