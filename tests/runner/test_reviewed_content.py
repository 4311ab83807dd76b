"""Only reviewed content on production, through the real runner: the fixture project made a git clone whose
commit is on origin/main, then edited as a hurried operator would edit it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pexpect

from tests.support import JEJU_PLAY, commit_project, recorded_runs, run_cli

PLAYBOOK = Path("playbooks") / "demo-ok.yml"


def only_run(runs_dir: Path) -> Path:
    runs = recorded_runs(runs_dir)
    assert len(runs) == 1, runs
    return runs[0]


def summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def approvals(run: Path) -> list[dict]:
    path = run / "approvals.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def edit_playbook(project: Path) -> None:
    path = project / PLAYBOOK
    path.write_text(path.read_text() + "# edited on the bastion at 3 a.m.\n")


def test_a_reviewed_clone_runs_on_production_and_the_record_names_its_commit(project: Path, runs_dir: Path) -> None:
    commit = commit_project(project)
    done = run_cli("demo-ok", "-i", "prod", "--yes-i-mean", "prod")
    assert done.returncode == 0, done.stdout + done.stderr
    content = summary(only_run(runs_dir))["content"]
    assert content["commit"] == commit and content["tree"] == "clean" and content["on_reviewed_branch"] is True
    assert content["signature"] == "absent" and content["problems"] == []


def test_an_uncommitted_playbook_is_refused_on_production_and_nothing_runs(project: Path, runs_dir: Path) -> None:
    commit_project(project)
    edit_playbook(project)
    done = run_cli("demo-ok", "-i", "prod", "--yes-i-mean", "prod")
    said = done.stdout + done.stderr
    assert done.returncode == 4, said
    assert "'prod' is production and this project's content is not reviewed" in said
    assert "playbooks/demo-ok.yml" in said and "--unreviewed" in said and "Traceback" not in said
    run = only_run(runs_dir)
    recorded = summary(run)
    assert (recorded["outcome"], recorded["exit_code"]) == ("refused", 4)
    assert recorded["content"]["changed"] == ["playbooks/demo-ok.yml"]
    assert not (run / "artifacts" / "remediated.txt").exists() and recorded["gates"] == []


def test_a_commit_off_the_reviewed_branch_is_refused(project: Path, runs_dir: Path) -> None:
    commit_project(project)
    edit_playbook(project)
    subprocess.run(["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@jeju.invalid", "commit",
                    "-qam", "not reviewed"], check=True)
    done = run_cli("demo-ok", "-i", "prod", "--yes-i-mean", "prod")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "is not on the reviewed branch origin/main" in done.stdout + done.stderr
    assert not (only_run(runs_dir) / "artifacts" / "remediated.txt").exists()


def test_a_tree_that_is_not_a_clone_is_refused_on_production(project: Path, runs_dir: Path) -> None:
    done = run_cli("demo-ok", "-i", "prod", "--yes-i-mean", "prod")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "is not a git work tree" in done.stdout + done.stderr


def test_unreviewed_pre_approved_by_name_runs_and_records_the_extra_gate(project: Path, runs_dir: Path) -> None:
    commit_project(project)
    edit_playbook(project)
    done = run_cli("demo-ok", "-i", "prod", "--unreviewed", "--yes-i-mean", "prod")
    assert done.returncode == 0, done.stdout + done.stderr
    run = only_run(runs_dir)
    assert (run / "artifacts" / "remediated.txt").exists()
    extra = approvals(run)[0]
    assert extra["kind"] == "unreviewed" and extra["decision"] == "approved"
    assert "playbooks/demo-ok.yml" in extra["description"] and extra["answer"]["how"] == "--yes-i-mean prod"
    assert summary(run)["gates"][0]["kind"] == "unreviewed" and len(summary(run)["gates"]) == 2


def test_unreviewed_with_nobody_to_ask_is_refused(project: Path, runs_dir: Path) -> None:
    commit_project(project)
    edit_playbook(project)
    done = run_cli("demo-ok", "-i", "prod", "--unreviewed")
    assert done.returncode == 4, done.stdout + done.stderr
    run = only_run(runs_dir)
    assert approvals(run)[0]["decision"] == "refused" and "nobody could be asked" in approvals(run)[0]["answer"]["how"]
    assert not (run / "artifacts" / "remediated.txt").exists()


def test_unreviewed_approved_at_the_terminal_by_typing_the_name(project: Path, runs_dir: Path) -> None:
    commit_project(project)
    edit_playbook(project)
    child = pexpect.spawn(str(JEJU_PLAY), ["demo-ok", "-i", "prod", "--unreviewed"],
                          env={**os.environ, "COLUMNS": "160"}, encoding="utf-8", timeout=60)
    child.expect("Run unreviewed content on production prod")
    child.expect(r"Type \S*prod\S* to approve")
    child.sendline("prod")
    child.expect("Write the marker file")
    child.expect(r"Type \S*prod\S* to approve")
    child.sendline("prod")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    run = only_run(runs_dir)
    assert [a["decision"] for a in approvals(run)] == ["approved", "approved"]
    assert approvals(run)[0]["answer"]["how"] == "typed at the terminal"


def test_check_mode_and_other_environments_run_and_record_the_tree(project: Path, runs_dir: Path) -> None:
    commit_project(project)
    edit_playbook(project)
    checked = run_cli("demo-ok", "-i", "prod", "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lab = run_cli("demo-ok", "-i", "lab", "--yes")
    assert lab.returncode == 0, lab.stdout + lab.stderr
    for run in recorded_runs(runs_dir):
        assert summary(run)["content"]["changed"] == ["playbooks/demo-ok.yml"]
