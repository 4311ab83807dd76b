"""low-balance end to end: starve accounts on the lab's L1, run the real `jeju-play low-balance`, check L1 after.

The promises of the funding role are checked on chain: low accounts reach their target, a transfer is never
sent twice for one intent (even when the account runs dry again), recipients outside the allowlist and
transfers above a cap are refused with the numbers, and the funding key appears in no output and no record.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jeju_lab.anvil import rpc_call
from tests.support import ROOT, LabHandle, kill_machine, recorded_runs, run_incident, wait_until

ETH = 10**18
TARGETS = {"batcher": 6, "proposer": 4}  # inventories/local: jeju_funding.recipients
STARVED_WEI = 10**13


def l1(lab: LabHandle) -> str:
    return str(lab.state["endpoints"]["l1_anvil"])


def address(lab: LabHandle, name: str) -> str:
    inventory = yaml.safe_load((lab.project / "inventories/local/group_vars/all/lab.yml").read_text())
    return str(inventory["jeju_addresses"][name])


def balance_eth(lab: LabHandle, name: str) -> float:
    return int(rpc_call(l1(lab), "eth_getBalance", [address(lab, name), "latest"]), 16) / ETH


def funding_nonce(lab: LabHandle) -> int:
    return int(rpc_call(l1(lab), "eth_getTransactionCount", [address(lab, "funding_wallet"), "latest"]), 16)


def starve(lab: LabHandle, name: str) -> None:
    rpc_call(l1(lab), "anvil_setBalance", [address(lab, name), hex(STARVED_WEI)])


def funding_key(lab: LabHandle) -> str:
    inventory = yaml.safe_load((lab.project / "inventories/local/group_vars/all/lab.yml").read_text())
    return str(inventory["vault_funding_key"]).removeprefix("0x")


def forget_transfers(lab: LabHandle) -> None:
    """Each test starts with the funding ledger of a fresh lab, so earlier tests do not count toward the daily cap."""
    (lab.project / ".lab" / "funding-ledger.jsonl").unlink(missing_ok=True)


@pytest.fixture
def lb_lab(lab: LabHandle) -> Iterator[LabHandle]:
    forget_transfers(lab)
    yield lab
    lab.lab.heal()
    forget_transfers(lab)
    for name in TARGETS:  # leave the accounts funded for the next test, whatever happened
        if balance_eth(lab, name) < 10:
            rpc_call(l1(lab), "anvil_setBalance", [address(lab, name), hex(100 * ETH)])


def low_balance(lab: LabHandle, *args: str, inventory: str = "local") -> tuple[Any, Path]:
    return run_incident(lab, "low-balance", *args, inventory=inventory, timeout=180)


def test_funded_accounts_send_nothing(lb_lab: LabHandle) -> None:
    nonce = funding_nonce(lb_lab)
    done, record = low_balance(lb_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert funding_nonce(lb_lab) == nonce
    assert json.loads((record / "summary.json").read_text())["gates"] == []


def test_low_accounts_reach_their_targets_and_the_key_stays_secret(lb_lab: LabHandle) -> None:
    lb_lab.lab.break_fault("batcher-unfunded")
    lb_lab.lab.break_fault("proposer-unfunded")
    nonce = funding_nonce(lb_lab)

    checked, _ = low_balance(lb_lab, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert funding_nonce(lb_lab) == nonce and balance_eth(lb_lab, "batcher") < 1

    done, record = low_balance(lb_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert funding_nonce(lb_lab) == nonce + 2
    transfers = json.loads((record / "artifacts" / "funding.json").read_text())["transfers"]
    assert {t["name"] for t in transfers} == set(TARGETS)
    for transfer in transfers:
        tx = rpc_call(l1(lb_lab), "eth_getTransactionByHash", [transfer["tx_hash"]])
        assert tx["to"].lower() == address(lb_lab, transfer["name"]).lower()
        assert tx["from"].lower() == address(lb_lab, "funding_wallet").lower()
        assert transfer["balance_after_eth"] >= TARGETS[transfer["name"]]
    assert balance_eth(lb_lab, "proposer") > 3.9 and balance_eth(lb_lab, "batcher") > 5.9

    key = funding_key(lb_lab)
    assert key not in checked.stdout + checked.stderr + done.stdout + done.stderr
    for path in record.rglob("*"):
        if path.is_file():
            assert key not in path.read_text(encoding="utf-8", errors="replace"), path


def test_with_the_primary_l1_down_every_read_and_the_transfer_go_to_the_backup_and_say_so(lb_lab: LabHandle) -> None:
    lb_lab.lab.break_fault("batcher-unfunded")
    lb_lab.lab.break_fault("l1-rpc-down")  # the primary L1 RPC refuses connections
    primary, backup = lb_lab.state["endpoints"]["l1_rpc_urls"]
    nonce = funding_nonce(lb_lab)
    done, record = low_balance(lb_lab, "--yes")
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert funding_nonce(lb_lab) == nonce + 1 and balance_eth(lb_lab, "batcher") > 5.9  # paid once, via the backup
    events = [json.loads(line) for line in (record / "events.jsonl").read_text().splitlines()]
    l1_calls = [e["res"] for e in events if e.get("event") == "runner_on_ok"
                and any(t.get("url") == primary for t in (e.get("res") or {}).get("endpoints_tried") or [])]
    transfers = json.loads((record / "artifacts" / "funding.json").read_text())["transfers"]
    sent = [t for t in transfers if t["sent_by_this_run"]]
    assert [t["name"] for t in sent] == ["batcher"]
    assert len(l1_calls) >= 2  # the balances read before and after
    for res in [*l1_calls, *sent]:  # the record says which endpoint served each call, and why not the primary
        assert res["endpoint"] == backup, res
        tried = {t["url"]: t["error"] for t in res["endpoints_tried"]}
        assert tried[primary].startswith("unreachable") and tried[backup] is None
    assert f"read from {backup} ({primary}: unreachable" in said


def tight_inventory(lab: LabHandle, max_transfer_eth: int) -> Path:
    """A copy of the lab's inventory with a smaller per-transfer cap (lab.yml linked, so it follows the lab)."""
    target = lab.project / "inventories" / "tight"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(lab.project / "inventories/local", target, ignore=shutil.ignore_patterns("lab.yml"))
    (target / "group_vars/all/lab.yml").symlink_to(lab.project / "inventories/local/group_vars/all/lab.yml")
    shared = yaml.safe_load((lab.project / "inventories/shared/group_vars/all/runbook.yml").read_text())
    funding = shared["jeju_funding"]
    assert funding["max_transfer_eth"] == 10
    (target / "group_vars/all/funding.yml").write_text(
        yaml.safe_dump({"jeju_funding": {**funding, "max_transfer_eth": max_transfer_eth}}))
    return target


def test_a_cap_smaller_than_the_top_up_refuses_with_the_numbers(lb_lab: LabHandle) -> None:
    tight_inventory(lb_lab, max_transfer_eth=1)
    lb_lab.lab.break_fault("batcher-unfunded")
    nonce = funding_nonce(lb_lab)
    done, _ = low_balance(lb_lab, "--yes", inventory="tight")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "max_transfer_eth" in done.stdout and "5.99999" in done.stdout, done.stdout
    assert funding_nonce(lb_lab) == nonce


INTENT_PLAYBOOK = """
- name: Fund twice under one run id, with the batcher running dry in between
  hosts: all
  gather_facts: false
  tasks:
    - name: First top-up
      ansible.builtin.include_role: {name: funding}
    - name: Keep the first transfers
      ansible.builtin.set_fact: {first: "{{ funding_transfers }}"}
    - name: The batcher runs dry again
      ansible.builtin.uri:
        url: "{{ l1_anvil }}"
        method: POST
        body_format: json
        body: {jsonrpc: "2.0", id: 1, method: anvil_setBalance, params: ["{{ jeju_addresses.batcher }}", "0x2540be400"]}
    - name: Second top-up, same run id (same intent)
      ansible.builtin.include_role: {name: funding}
    - name: A recipient outside the allowlist
      jeju.ops.fund_account:
        rpc_urls: "{{ jeju_l1_rpc_urls }}"
        expect_chain_id: "{{ jeju_l1_chain_id }}"
        to: "{{ jeju_addresses.challenger }}"
        allowed_recipients: "{{ {'batcher': jeju_addresses.batcher, 'proposer': jeju_addresses.proposer} }}"
        target_balance_eth: "1"
        max_transfer_eth: "10"
        daily_cap_eth: "20"
        signer_key: "{{ vault_funding_key }}"
        run_id: "{{ jeju_run_id }}"
        ledger_path: "{{ jeju_funding.ledger_path }}"
      no_log: true
      failed_when: false
      register: outsider
    - name: Write what happened
      ansible.builtin.copy:
        dest: "{{ result_file }}"
        mode: "0600"
        content: "{{ {'first': first, 'second': funding_transfers, 'outsider': outsider.msg | default('')} | to_json }}"
"""


def test_one_intent_never_sends_twice_and_outsiders_are_refused(lb_lab: LabHandle, tmp_path: Path) -> None:
    starve(lb_lab, "batcher")
    playbook = tmp_path / "intent.yml"
    playbook.write_text(INTENT_PLAYBOOK)
    result = tmp_path / "result.json"
    extra = {"jeju_gate_preapproved": True, "jeju_run_id": f"intent-test-{uuid.uuid4().hex[:8]}",
             "jeju_run_dir": str(tmp_path), "l1_anvil": l1(lb_lab), "result_file": str(result),
             "ansible_python_interpreter": sys.executable}
    nonce = funding_nonce(lb_lab)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(lb_lab.project / "inventories/shared"),
         "-i", str(lb_lab.project / "inventories/local"),
         "-e", json.dumps(extra), str(playbook)],
        capture_output=True, text=True, timeout=180, check=False,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_ROLES_PATH": str(ROOT / "roles")})
    assert done.returncode == 0, done.stdout + done.stderr
    facts = json.loads(result.read_text())
    assert funding_nonce(lb_lab) == nonce + 1  # one transfer, not two
    assert [t["sent_by_this_run"] for t in facts["first"]] == [True]
    assert [t["sent_by_this_run"] for t in facts["second"]] == [False]
    assert facts["second"][0]["tx_hash"] == facts["first"][0]["tx_hash"]
    assert balance_eth(lb_lab, "batcher") < 1  # the intent was paid: the dry batcher was not funded again
    assert "not in the inventory's allowed_recipients" in facts["outsider"]
    assert funding_key(lb_lab) not in done.stdout + done.stderr


def ledger_entries(lab: LabHandle) -> list[dict[str, Any]]:
    path = lab.project / ".lab" / "funding-ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def test_a_run_killed_once_its_transfer_is_signed_then_a_rerun_pays_exactly_once(lb_lab: LabHandle) -> None:
    """The machine is lost (the runner, its ansible-playbook and the module, all SIGKILLed) right after the
    top-up is signed and broadcast, while L1 mines nothing: the rerun (a new run, so a new intent) reads the
    batcher still starved, sees the dead run's transfer through by its own signed bytes, and sends nothing of
    its own. Exactly one transfer."""
    lb_lab.lab.break_fault("batcher-unfunded")
    nonce = funding_nonce(lb_lab)
    runs = lb_lab.project / "runs"
    before = set(recorded_runs(runs))
    rpc_call(l1(lb_lab), "evm_setIntervalMining", [0])  # L1 mines nothing until the rerun waits for the receipt
    try:
        killed = subprocess.Popen([sys.executable, "-m", "jeju_play", "low-balance", "-i", "local", "--yes"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_until(lambda: any(e.get("state") == "sent" for e in ledger_entries(lb_lab)) or killed.poll(),
                       "the dead run's top-up signed and broadcast", limit=120, every=0.02)
        finally:
            kill_machine(killed.pid)
            killed.wait()
        (signed,) = {e["tx_hash"] for e in ledger_entries(lb_lab) if e.get("tx_hash")}
        assert rpc_call(l1(lb_lab), "eth_getTransactionByHash", [signed])["blockNumber"] is None  # pending
        assert balance_eth(lb_lab, "batcher") < 1  # what the rerun reads
        (dead,) = set(recorded_runs(runs)) - before

        rerun = subprocess.Popen([sys.executable, "-m", "jeju_play", "low-balance", "-i", "local", "--yes"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        def at_the_transfer() -> bool:
            records = set(recorded_runs(runs)) - before - {dead}
            return rerun.poll() is not None or any(
                "Send the top-up" in (r / "events.jsonl").read_text() for r in records
                if (r / "events.jsonl").exists())

        wait_until(at_the_transfer, "the rerun at its transfer step", limit=120, every=0.1)
        rpc_call(l1(lb_lab), "evm_setIntervalMining", [2])
        output, _ = rerun.communicate(timeout=180)
    finally:
        rpc_call(l1(lb_lab), "evm_setIntervalMining", [2])
    assert rerun.returncode == 0, output
    assert f"Run {dead.name} never ended" in output, output
    assert f"saw {signed}" in output and "nothing new sent" in output, output
    assert funding_nonce(lb_lab) == nonce + 1  # one transfer: the dead run's, by its own signed bytes
    assert rpc_call(l1(lb_lab), "eth_getTransactionByHash", [signed])["blockNumber"] is not None
    assert balance_eth(lb_lab, "batcher") > TARGETS["batcher"] - 0.01  # the target, less the batches' gas since
    assert json.loads((dead / "summary.json").read_text())["outcome"] == "interrupted"
