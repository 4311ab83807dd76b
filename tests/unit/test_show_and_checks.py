"""`jeju-play show` lists every gate of every automated incident; the project checks catch incident lists in code and
`tasks_from` with a file suffix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jeju_play import catalog
from jeju_play.checks import check_mode_reads, direct_k8s_lookups, incident_lists, tasks_from_suffixes
from jeju_play.outline import gates, outline
from tests.support import ROOT, run_cli

CATALOG = catalog.load(ROOT)
# Incidents whose remediation only reads, hands over or escalates: no gate is expected.
READ_ONLY = {"daily-checks", "handoff", "elevated-errors"}


@pytest.mark.parametrize("incident", [i.name for i in CATALOG.incidents if i.automated])
def test_every_changing_playbook_shows_its_gates(incident: str) -> None:
    entry = CATALOG.get(incident)
    found = gates(ROOT / entry.playbook, ROOT / "roles")
    if incident in READ_ONLY:
        assert found == []
    else:
        assert found, f"{incident}: no gate in the outline"
    for play in outline(ROOT / entry.playbook, ROOT / "roles"):
        changes = [s for s in play.steps if s.module.startswith("kubernetes.core.k8s") and s.module not in (
            "kubernetes.core.k8s_info", "kubernetes.core.k8s_log")]
        if play.phase == "remediate" and changes:
            assert found, f"{incident}: {play.phase} changes {changes[0].name} with no gate"


def test_show_low_balance_lists_the_transfer_gate() -> None:
    shown = run_cli("show", "low-balance")
    assert shown.returncode == 0
    gate_lines = [line for line in shown.stdout.splitlines() if "GATE" in line]
    assert any("Ask before sending the top-up" in line for line in gate_lines)
    assert max(len(line.rstrip()) for line in shown.stdout.splitlines()) <= 80


def test_show_lists_the_runners_own_gates_too() -> None:
    """The runner asks two gates before any play (unreviewed content, a dead run's lock): show lists them."""
    shown = run_cli("show", "network-down", env_extra={"COLUMNS": "80"})
    lines = shown.stdout.splitlines()
    runner = lines.index(next(line for line in lines if line.startswith("Runner")))
    gate_lines = [line.strip() for line in lines[runner:] if "GATE" in line]
    assert gate_lines == ["GATE Run unreviewed content (--unreviewed)", "GATE Take a dead run's remediation lock over"]
    assert max(len(line.rstrip()) for line in lines) <= 80


def test_show_names_the_cause_of_each_branch() -> None:
    shown = run_cli("show", "network-down").stdout
    for cause in ("l1_rpc_down", "out_of_memory", "node_lost", "unschedulable", "volume_corrupt", "crash", "bad_block"):
        assert f"if cause {cause}:" in shown


def test_a_file_that_includes_itself_is_outlined_once(tmp_path: Path) -> None:
    """incident's rounds includes itself (the next round): the outline expands it once and ends."""
    (tmp_path / "again.yml").write_text("- name: Look again\n  ansible.builtin.include_tasks: again.yml\n")
    (tmp_path / "play.yml").write_text(
        "- name: 'Verify: look again'\n  hosts: all\n  tasks:\n"
        "    - name: Start\n      ansible.builtin.include_tasks: again.yml\n")
    steps = outline(tmp_path / "play.yml", tmp_path / "roles")[0].steps
    assert [s.name for s in steps] == ["Start", "Look again"]


def test_an_incident_list_in_code_is_caught(tmp_path: Path) -> None:
    (tmp_path / "jeju_play").mkdir()
    (tmp_path / "jeju_play" / "bad.py").write_text('SKIP = {"security-breach", "handoff"}\n')
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "x.yml").write_text("- hosts: all\n  vars:\n    skip: [network-down, rollback]\n")
    problems = incident_lists(tmp_path, set(CATALOG.names()))
    assert any("jeju_play/bad.py:1 names the incident 'security-breach'" in p for p in problems)
    assert any("playbooks/x.yml lists incidents ['network-down', 'rollback']" in p for p in problems)


def test_the_real_tree_lists_no_incident_outside_the_catalog() -> None:
    assert incident_lists(ROOT, set(CATALOG.names())) == []
    assert tasks_from_suffixes(ROOT) == []
    assert check_mode_reads(ROOT) == []
    assert direct_k8s_lookups(ROOT) == []


def test_a_direct_kubernetes_core_lookup_is_caught(tmp_path: Path) -> None:
    (tmp_path / "roles" / "r" / "tasks").mkdir(parents=True)
    (tmp_path / "roles" / "r" / "tasks" / "main.yml").write_text(
        "---\n- name: Read\n  ansible.builtin.set_fact:\n    pods: \"{{ query('kubernetes.core.k8s', kind='Pod') }}\"\n"
        "# query('kubernetes.core.k8s') in a comment is not a read\n")
    [problem] = direct_k8s_lookups(tmp_path)
    assert "roles/r/tasks/main.yml:4" in problem and "jeju.ops.k8s_read" in problem


def test_a_tasks_from_suffix_is_caught(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "roles" / "funding", tmp_path / "roles" / "funding")
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "p.yml").write_text(
        "- hosts: all\n  tasks:\n    - ansible.builtin.include_role:\n        name: funding\n"
        "        tasks_from: top_up.yml\n")
    [problem] = tasks_from_suffixes(tmp_path)
    assert "playbooks/p.yml:5" in problem and "drop the suffix" in problem


def test_a_read_that_check_mode_would_skip_is_caught(tmp_path: Path) -> None:
    """The eigenda-down case: a health read through uri made --check plan for another cause than the run."""
    (tmp_path / "playbooks" / "tasks").mkdir(parents=True)
    (tmp_path / "playbooks" / "tasks" / "diagnose.yml").write_text("""---
- name: Ask the proxy for its health
  ansible.builtin.uri:
    url: http://proxy/health
- name: Read it again, in check mode too
  ansible.builtin.uri:
    url: http://proxy/health
  check_mode: false
- name: Post a change (not a read)
  ansible.builtin.uri:
    url: http://proxy/reset
    method: POST
- name: A block
  block:
    - name: Count connections
      ansible.builtin.command: netstat -an
      changed_when: false
""")
    problems = check_mode_reads(tmp_path)
    assert len(problems) == 2, problems
    assert "'Ask the proxy for its health' reads through ansible.builtin.uri" in problems[0]
    assert "'Count connections' reads through ansible.builtin.command" in problems[1]
    assert all("add `check_mode: false`" in p for p in problems)
