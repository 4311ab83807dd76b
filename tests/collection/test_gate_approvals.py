"""jeju.ops.gate without the jeju-play runner (plain ansible-playbook, AWX / AAP), from the installed collection.

It never approves by itself: a gate is approved only when `jeju_gate_approvals` names it
(`<environment>:<kind>:<target>`); one approval names one gate, so it cannot approve the others.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.collection.conftest import BIN, clean_ansible_env

OP_NODE = "op-stack/deployment/op-node"
RESTART = f"testnet:restart:{OP_NODE}"
SCALE = f"testnet:scale:{OP_NODE}"
BATCHER = "testnet:restart:op-stack/deployment/op-batcher"


def _gate(name: str, kind: str, target: str) -> dict:
    return {"name": name, "jeju.ops.gate": {"description": f"{name} ({target})", "kind": kind, "target": target,
                                            "change": {"kubectl": f"kubectl {kind} {target}"}, "timeout": 1},
            "register": name, "ignore_errors": True}


PLAYBOOK = [{
    "name": "Three gates on testnet", "hosts": "localhost", "connection": "local", "gather_facts": False,
    "vars": {"jeju_environment": "testnet"},
    "tasks": [
        _gate("restart_op_node", "restart", OP_NODE),
        _gate("scale_op_node", "scale", OP_NODE),
        _gate("restart_batcher", "restart", "op-stack/deployment/op-batcher"),
        {"name": "Write what each gate said", "ansible.builtin.copy": {
            "dest": "{{ result_file }}", "mode": "0600",
            "content": "{{ {'restart_op_node': restart_op_node, 'scale_op_node': scale_op_node,"
                       " 'restart_batcher': restart_batcher} | to_json }}"}},
    ],
}]


def run_gates(installed: Path, tmp_path: Path, extra: dict, *args: str, env_extra: dict | None = None,
              ) -> tuple[dict, subprocess.CompletedProcess[str]]:
    """Run the three gates; returns what each said (from the result file, or the json callback in check mode)."""
    playbook = tmp_path / "gates.yml"
    playbook.write_text(yaml.safe_dump(PLAYBOOK, sort_keys=False))
    result_file = tmp_path / "result.json"
    extra = dict(extra, result_file=str(result_file), ansible_python_interpreter=str(BIN / "python"))
    env = dict(clean_ansible_env(installed), **(env_extra or {}))
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-e", json.dumps(extra), *args,
                           str(playbook)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    if result_file.exists():
        return json.loads(result_file.read_text()), done
    tasks = json.loads(done.stdout)["plays"][0]["tasks"]
    return {t["task"]["name"]: t["hosts"]["localhost"] for t in tasks if "jeju.ops.gate" in t["task"]["name"]
            or t["task"]["name"] in ("restart_op_node", "scale_op_node", "restart_batcher")}, done


def verdicts(result: dict) -> dict[str, bool]:
    return {name: bool(value.get("approved")) and not value.get("failed") for name, value in result.items()}


@pytest.mark.parametrize(("approvals", "approved"), [
    (None, set()),
    ([], set()),
    ([RESTART], {"restart_op_node"}),
    ([RESTART, SCALE], {"restart_op_node", "scale_op_node"}),
    (f"{RESTART}\n{BATCHER}\n", {"restart_op_node", "restart_batcher"}),  # a survey's textarea: one a line
    ([f"mainnet:restart:{OP_NODE}"], set()),  # an approval for another environment approves nothing here
    (["*"], set()), (["testnet:*:*"], set()), ([f"testnet:restart:{OP_NODE}/*"], set()),  # no wildcards
    (["restart"], set()),
    ({"gate": SCALE, "by": "alice"}, {"scale_op_node"}),
])
def test_only_the_gates_an_approval_names_are_approved(installed: Path, tmp_path: Path, approvals: object,
                                                       approved: set[str]) -> None:
    extra = {} if approvals is None else {"jeju_gate_approvals": approvals}
    result, _done = run_gates(installed, tmp_path, extra)
    assert {name for name, ok in verdicts(result).items() if ok} == approved
    for name, value in result.items():
        if name not in approved:
            assert value["failed"] and value["gate_refused"], value
            assert value["gate"]["answer"]["approved"] is False
            assert value["gate"]["approval"] in value["gate"]["answer"]["how"]  # says which name would approve it


def test_an_approval_records_who_and_the_awx_job(installed: Path, tmp_path: Path) -> None:
    result, _done = run_gates(installed, tmp_path, {
        "jeju_gate_approvals": [{"gate": RESTART, "by": "alice", "note": "INC-42 approval node"}, SCALE],
        "awx_job_id": 314, "awx_user_name": "eda-controller"})
    restart, scale = result["restart_op_node"]["gate"]["answer"], result["scale_op_node"]["gate"]["answer"]
    assert restart["approved"] and restart["who"] == "alice" and restart["note"] == "INC-42 approval node"
    assert restart["how"] == "jeju_gate_approvals (awx_job_id 314)"
    assert scale["approved"] and scale["who"] == "eda-controller"  # no `by`: the AWX user that launched the job
    assert result["restart_batcher"]["gate_refused"]


@pytest.mark.parametrize(("extra", "approved"), [
    ({"jeju_gate_proposals": [RESTART, BATCHER]}, {"restart_op_node", "restart_batcher"}),
    ({}, set()),  # no diagnosis artifacts: default([]) approves nothing
])
def test_the_remediate_templates_approvals_from_the_diagnosis_artifacts(installed: Path, tmp_path: Path,
                                                                       extra: dict, approved: set[str]) -> None:
    """AWX workflow: the remediate job template's `jeju_gate_approvals` is a template over the artifacts."""
    result, _done = run_gates(installed, tmp_path, dict(
        extra, jeju_gate_approvals="{{ jeju_gate_proposals | default([]) }}"))
    assert {name for name, ok in verdicts(result).items() if ok} == approved


def test_an_approvals_template_that_fails_approves_nothing(installed: Path, tmp_path: Path) -> None:
    result, _done = run_gates(installed, tmp_path, {"jeju_gate_approvals": "{{ jeju_gate_proposals }}"})
    assert verdicts(result) == dict.fromkeys(result, False)
    assert "could not be read" in result["restart_op_node"]["gate"]["answer"]["how"]


def test_a_bad_approvals_value_refuses_every_gate(installed: Path, tmp_path: Path) -> None:
    result, _done = run_gates(installed, tmp_path, {"jeju_gate_approvals": [{"by": "alice"}]})
    assert verdicts(result) == dict.fromkeys(result, False)
    assert "every approval names a gate" in result["restart_op_node"]["gate"]["answer"]["how"]


@pytest.mark.parametrize(("extra", "approved"), [
    ({}, True),                                  # molecule and tests: local, not production, no AWX
    ({"awx_job_id": 7}, False),                  # never in an AWX / AAP job
    ({"tower_job_id": 7}, False),
    ({"jeju_production": True}, False),          # never on production
])
def test_the_blanket_preapproval_is_for_tests_only(installed: Path, tmp_path: Path, extra: dict,
                                                   approved: bool) -> None:
    result, _done = run_gates(installed, tmp_path, dict(extra, jeju_gate_preapproved=True))
    assert set(verdicts(result).values()) == {approved}


def test_check_mode_asks_nobody_and_publishes_the_approval_names(installed: Path, tmp_path: Path) -> None:
    json_callback = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_SHOW_CUSTOM_STATS": "1"}
    result, done = run_gates(installed, tmp_path, {}, "--check", env_extra=json_callback)
    for value in result.values():
        assert value["would_ask"] and not value.get("failed") and not value.get("approved")
    assert [result[n]["gate"]["approval"] for n in ("restart_op_node", "scale_op_node", "restart_batcher")] == [
        RESTART, SCALE, BATCHER]
    stats = json.loads(done.stdout)["global_custom_stats"]  # set_stats(per_host=false): AWX's job artifacts
    assert stats["jeju_gate_proposals"] == [RESTART, SCALE, BATCHER]


def test_under_the_runner_only_the_runner_answers(installed: Path, tmp_path: Path) -> None:
    """With JEJU_PLAY_GATE_DIR (the runner) an approvals variable approves nothing: nobody answered in 1 s."""
    gate_dir = tmp_path / "gates"
    gate_dir.mkdir()
    result, _done = run_gates(installed, tmp_path, {"jeju_gate_approvals": [RESTART], "jeju_gate_preapproved": True},
                              env_extra={"JEJU_PLAY_GATE_DIR": str(gate_dir)})
    assert verdicts(result) == dict.fromkeys(result, False)
    assert result["restart_op_node"]["gate"]["answer"]["how"] == "no answer within 1 s"
    assert all(result[name]["gate"]["answer"]["timed_out"] is True for name in result)
    # each gate asked the runner, and took its request back when it stopped waiting: nobody may answer it now
    assert {result[name]["gate"]["approval"] for name in result} == {RESTART, SCALE, BATCHER}
    assert sorted(gate_dir.glob("*.request.json")) == []
