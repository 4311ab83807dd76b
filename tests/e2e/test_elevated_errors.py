"""elevated-errors end to end: the real `jeju-play elevated-errors` on the lab, judged by the lab and the record.

Before each run the test waits until the lab's own logs show what it means to test (`kubectl logs --since`, the
window of inventories/local): the baseline, or a fault's error lines. Then it checks the run's exit code, its
record (classification, errors-report.json, summary.json) and that nothing in the lab changed: no Deployment or pod
touched, no transaction from an account the inventory holds a key for. The real `jeju-play drill` (which restarts
the lab) runs last.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jeju_lab.anvil import rpc_call
from jeju_lab.chains import accounts
from tests.support import ROOT, LabHandle, artifact, classification, run_cli, run_incident, wait_until

NS = "op-stack"
INVENTORY = yaml.safe_load((ROOT / "inventories/local/group_vars/all/errors.yml").read_text())["jeju_elevated_errors"]
DEPLOYMENTS = yaml.safe_load((ROOT / "inventories/shared/group_vars/all/cluster.yml").read_text())["jeju_deployments"]
WINDOW = int(INVENTORY["window_seconds"])
ERROR = re.compile(r"\blvl=(eror|error|crit)\b")
WARNING = re.compile(r"\blvl=warn\b")
MSG = re.compile(r'\bmsg="((?:[^"\\]|\\.)*)"')


def kubectl(lab: LabHandle, *args: str) -> str:
    return subprocess.run(["kubectl", "--kubeconfig", lab.kubeconfig, "--context", "jeju-lab", "-n", NS, *args],
                          capture_output=True, text=True, check=True, timeout=30).stdout


def window_lines(lab: LabHandle, deployment: str) -> list[str]:
    """What an engineer reads: `kubectl logs deployment/X --since=<the inventory's window>`."""
    return kubectl(lab, "logs", f"deployment/{deployment}", f"--since={WINDOW}s").splitlines()


def op_node_errors(lab: LabHandle) -> int:
    return sum(1 for line in window_lines(lab, "op-node") if ERROR.search(line))


def limit(key: str, level: str) -> float:
    """Where the inventory's baseline says a component's errors (or warnings) in the window become elevated."""
    expected = INVENTORY["baseline_per_minute"][key][level] * WINDOW / 60
    return max(INVENTORY["elevated_factor"] * expected, INVENTORY["min_lines"])


def op_node_error_limit() -> float:
    return limit("op_node", "errors")


def at_baseline(lab: LabHandle) -> bool:
    """Every component's errors and warnings in the window under their limits (an earlier fault's lines aged out)."""
    for key in INVENTORY["baseline_per_minute"]:
        lines = window_lines(lab, DEPLOYMENTS[key])
        if (sum(1 for line in lines if ERROR.search(line)) >= limit(key, "errors")
                or sum(1 for line in lines if WARNING.search(line)) >= limit(key, "warnings")):
            return False
    return True


def lab_state(lab: LabHandle) -> dict[str, Any]:
    """Every Deployment's and pod's resourceVersion, and the L1 nonces of the accounts the inventory holds keys for."""
    objects = json.loads(kubectl(lab, "get", "deployments,pods", "-o", "json"))["items"]
    l1 = lab.state["endpoints"]["l1_anvil"]
    keyed = (accounts.FUNDING_WALLET.address, accounts.GUARDIAN_OWNERS[0].address)
    return {"objects": {f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"] for o in objects},
            "nonces": {a: rpc_call(l1, "eth_getTransactionCount", [a, "latest"]) for a in keyed}}


def report(record: Path) -> dict[str, Any]:
    return dict(json.loads(artifact(record, "errors-report.json")))


def summary(record: Path) -> dict[str, Any]:
    return dict(json.loads((record / "summary.json").read_text()))


def incident_fixing(signature_text: str) -> str:
    """The catalog's incident whose log_signatures match a log text (the catalog, not the test, says who)."""
    catalog = yaml.safe_load((ROOT / "catalog.yml").read_text())["incidents"]
    return next(i["name"] for i in catalog for s in i.get("log_signatures") or []
                if s.lower() in signature_text.lower())


def elevated_errors(lab: LabHandle, *args: str) -> tuple[Any, Path]:
    return run_incident(lab, "elevated-errors", *args, timeout=120)


@pytest.fixture
def ee_lab(lab: LabHandle) -> Iterator[LabHandle]:
    """The session lab once every component's lines in the window are back under their limits (an earlier fault's
    lines age out of the window); healed afterwards."""
    wait_until(lambda: at_baseline(lab), "every component's errors and warnings at baseline", limit=WINDOW + 30)
    yield lab
    lab.lab.heal()


def test_healthy_lab_is_at_baseline_and_changes_nothing(ee_lab: LabHandle) -> None:
    before = lab_state(ee_lab)
    done, record = elevated_errors(ee_lab)
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "baseline"
    assert lab_state(ee_lab) == before
    found = report(record)
    assert {c["name"] for c in found["components"]} == {DEPLOYMENTS[k] for k in INVENTORY["baseline_per_minute"]}
    assert not any(c["elevated"] for c in found["components"]) and found["rpc"]["measured"]
    assert found["top"], "the lab's baseline logs a few warnings and errors: the report lists them"
    assert summary(record)["gates"] == [] and summary(record)["escalation"] is None


def test_ten_times_the_errors_with_no_known_signature_go_to_the_on_call(ee_lab: LabHandle) -> None:
    ee_lab.lab.break_fault("errors-elevated")
    wait_until(lambda: op_node_errors(ee_lab) >= op_node_error_limit() + 2, "op-node's errors above the limit",
               limit=WINDOW)
    lines = [line for line in window_lines(ee_lab, "op-node") if ERROR.search(line)]
    usual = Counter(m.group(1) for line in lines if (m := MSG.search(line))).most_common(1)[0][0]
    before = lab_state(ee_lab)

    done, record = elevated_errors(ee_lab)
    assert done.returncode == 3, done.stdout + done.stderr
    assert classification(record) == "elevated"
    assert lab_state(ee_lab) == before
    found = report(record)
    assert found["elevated"] == ["op-node"] and found["incident"] == ""
    top = found["top"][0]
    assert (top["component"], top["level"]) == ("op-node", "error") and top["template"].startswith(usual)
    assert top["count"] >= op_node_error_limit() and top["first_seen"] and top["last_seen"]
    assert top["first_seen"] <= top["last_seen"]
    escalation = summary(record)["escalation"]
    assert escalation["level"] == 1 and escalation["contact"] == "On-call engineer"
    assert "jeju-play " not in escalation["advice"]  # no incident to hand to
    assert summary(record)["gates"] == []
    assert "Top messages" in artifact(record, "errors-report.md")


def test_l1_fetch_errors_dominate_and_the_run_names_who_fixes_them(ee_lab: LabHandle) -> None:
    ee_lab.lab.break_fault("l1-rpc-down")
    wait_until(lambda: sum("failed to fetch L1 block" in line for line in window_lines(ee_lab, "op-node")) >= 10,
               "op-node logs L1 fetch errors", limit=WINDOW)
    owner = incident_fixing("failed to fetch L1 block")
    before = lab_state(ee_lab)

    done, record = elevated_errors(ee_lab)
    assert done.returncode == 3, done.stdout + done.stderr
    assert classification(record) == "known_signature"
    assert lab_state(ee_lab) == before
    found = report(record)
    assert "op-node" in found["elevated"]
    assert found["incident"] == owner and found["dominant"]["share"] >= INVENTORY["dominant_share"]
    escalation = summary(record)["escalation"]
    assert f"jeju-play {owner} -i local" in escalation["advice"]
    assert f"jeju-play {owner} -i local" in artifact(record, "errors-report.md")
    assert summary(record)["gates"] == []


def test_check_mode_changes_nothing_and_sees_what_the_run_sees(ee_lab: LabHandle) -> None:
    ee_lab.lab.break_fault("errors-elevated")
    wait_until(lambda: op_node_errors(ee_lab) >= op_node_error_limit() + 2, "op-node's errors above the limit",
               limit=WINDOW)
    before = lab_state(ee_lab)
    checked, record = elevated_errors(ee_lab, "--check")
    assert lab_state(ee_lab) == before
    assert checked.returncode == 3, checked.stdout + checked.stderr  # read-only either way: the hand-over stands
    assert classification(record) == "elevated"
    assert summary(record)["gates"] == []
    done, real = elevated_errors(ee_lab)
    assert done.returncode == 3 and classification(real) == "elevated"
    assert lab_state(ee_lab) == before


def test_drill_errors_elevated_hands_over(lab: LabHandle) -> None:
    """The real `jeju-play drill` (fresh lab, break, settle, run). Restarts the lab: last."""
    done = run_cli("drill", "elevated-errors", "--fault", "errors-elevated", "--json", timeout=240)
    assert done.returncode == 3, done.stdout + done.stderr
    drill = json.loads(done.stdout[done.stdout.index("{"):])
    assert drill["run_exit_code"] == 3 and drill["recovered"] is None
    assert classification(Path(drill["record"])) == "elevated"
