"""The runner end to end: real playbooks through the real ansible-runner, as a user runs `jeju-play`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pexpect

from tests.support import JEJU_PLAY, commit_project, recorded_runs, run_cli

SECRET = "s3cr3t-token-that-must-not-leak-4242"


def only_run(runs_dir: Path) -> Path:
    runs = recorded_runs(runs_dir)
    assert len(runs) == 1, runs
    return runs[0]


def events(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


def summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def test_approved_run_remediates_and_records(project: Path, runs_dir: Path) -> None:
    result = run_cli("demo", "-i", "lab", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    run = only_run(runs_dir)
    assert (run / "artifacts" / "remediated.txt").read_text().startswith(f"fixed by {run.name}")
    recorded = summary(run)
    assert recorded["outcome"] == "verified" and recorded["exit_code"] == 0
    assert recorded["incident"] == "demo-ok" and recorded["environment"] == "lab"
    assert recorded["who"] and recorded["started"] <= recorded["ended"]
    assert recorded["phases"]["diagnose"]["status"] == "ok"
    assert recorded["phases"]["remediate"]["changed"] == 1
    assert recorded["phases"]["verify"]["failed"] == 0
    kinds = {e["event"] for e in events(run)}
    assert {"playbook_on_start", "playbook_on_play_start", "runner_on_ok", "playbook_on_stats"} <= kinds
    approvals = [json.loads(line) for line in (run / "approvals.jsonl").read_text().splitlines()]
    assert approvals[0]["decision"] == "approved" and approvals[0]["answer"]["how"] == "--yes"
    assert "Write the marker file" in result.stdout and "VERIFIED" in result.stdout


def test_events_are_hash_chained(project: Path, runs_dir: Path) -> None:
    import hashlib

    assert run_cli("demo", "-i", "lab", "--yes").returncode == 0
    previous = "0" * 64
    for event in events(only_run(runs_dir)):
        digest, prev = event.pop("hash"), event.pop("prev_hash")
        assert prev == previous
        canonical = json.dumps(event, sort_keys=True, default=str)
        assert hashlib.sha256((prev + canonical).encode()).hexdigest() == digest
        previous = digest


def test_check_mode_changes_nothing_and_reports_the_gate(project: Path, runs_dir: Path) -> None:
    result = run_cli("demo-ok", "-i", "lab", "--check")
    assert result.returncode == 0, result.stderr
    run = only_run(runs_dir)
    assert not (run / "artifacts" / "remediated.txt").exists()
    recorded = summary(run)
    assert recorded["outcome"] == "plan shown" and recorded["check_mode"] is True
    assert recorded["gates"][0]["decision"] == "would ask (check mode)"
    assert not (run / "approvals.jsonl").exists()


def test_failed_verification_exits_1(project: Path, runs_dir: Path) -> None:
    result = run_cli("demo-fail", "-i", "lab")
    assert result.returncode == 1
    recorded = summary(only_run(runs_dir))
    assert recorded["outcome"] == "failed" and "blocks are still not flowing" in recorded["message"]
    assert recorded["phases"]["verify"]["status"] == "failed"


def test_escalation_exits_3(project: Path, runs_dir: Path) -> None:
    result = run_cli("demo-escalate", "-i", "lab", "--json")
    assert result.returncode == 3
    printed = json.loads(result.stdout)
    assert printed["outcome"] == "escalated" and "block 1234" in printed["message"]
    assert printed["escalation"] == {"level": 4, "contact": "OP Labs",
                                     "advice": "Revert to the last known good block (requires expertise)"}


def test_escalation_says_whom_to_hand_to_and_what_next(project: Path, runs_dir: Path) -> None:
    result = run_cli("demo-escalate", "-i", "lab")
    assert result.returncode == 3
    assert "hand to: OP Labs (level 4)" in result.stdout
    assert "next: Revert to the last known good block (requires expertise)" in result.stdout
    shown = run_cli("runs", "show", only_run(runs_dir).name)
    assert "hand to: OP Labs (level 4); next: Revert to the last known good block" in shown.stdout


def test_manual_incident_prints_the_runbook_and_exits_3(project: Path, runs_dir: Path) -> None:
    result = run_cli("demo-manual", "-i", "lab")
    assert result.returncode == 3
    assert "kubectl get pods -n demo" in result.stdout
    run = only_run(runs_dir)
    assert summary(run)["outcome"] == "handed to humans"
    assert "Tell the team" in (run / "artifacts" / "manual-steps.md").read_text()


def test_gate_without_terminal_refuses_after_timeout(project: Path, runs_dir: Path) -> None:
    result = run_cli("demo-ok", "-i", "lab", "-e", "jeju_gate_timeout_seconds=1")
    assert result.returncode == 4
    run = only_run(runs_dir)
    assert not (run / "artifacts" / "remediated.txt").exists()
    recorded = summary(run)
    assert recorded["outcome"] == "refused"
    assert recorded["gates"][0]["answer"]["how"] == "no answer within 1 s"
    assert recorded["gates"][0]["answer"]["approved"] is False


def _spawn(*args: str) -> pexpect.spawn:
    return pexpect.spawn(str(JEJU_PLAY), list(args), env={**os.environ, "COLUMNS": "160"},
                         encoding="utf-8", timeout=60)


def test_gate_approved_at_the_terminal(project: Path, runs_dir: Path) -> None:
    child = _spawn("demo-ok", "-i", "lab")
    child.expect(r"Type \S*yes\S* to approve")
    child.sendline("yes")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    run = only_run(runs_dir)
    assert (run / "artifacts" / "remediated.txt").exists()
    assert summary(run)["gates"][0]["answer"]["how"] == "typed at the terminal"


def test_gate_refused_at_the_terminal(project: Path, runs_dir: Path) -> None:
    child = _spawn("demo-ok", "-i", "lab")
    child.expect("Write the marker file")
    child.expect("to approve")
    child.sendline("no")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4
    run = only_run(runs_dir)
    assert not (run / "artifacts" / "remediated.txt").exists()
    answer = summary(run)["gates"][0]["answer"]
    assert answer["approved"] is False and answer["how"] == "answered 'no' at the terminal"


def test_production_needs_the_name_typed(project: Path, runs_dir: Path) -> None:
    commit_project(project)  # production runs only reviewed content (tests/runner/test_review.py)
    child = _spawn("demo-ok", "-i", "prod")
    child.expect(r"Type \S*prod\S* to approve")
    child.sendline("yes")  # 'yes' is not enough on production
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4
    assert not (only_run(runs_dir) / "artifacts" / "remediated.txt").exists()


def test_production_yes_alone_is_refused_without_terminal(project: Path, runs_dir: Path) -> None:
    result = run_cli("demo-ok", "-i", "prod", "--yes")
    assert result.returncode == 4
    assert "--yes-i-mean prod" in result.stderr
    assert recorded_runs(runs_dir) == []


def test_production_yes_i_mean_approves(project: Path, runs_dir: Path) -> None:
    commit_project(project)
    result = run_cli("demo-ok", "-i", "prod", "--yes-i-mean", "prod")
    assert result.returncode == 0, result.stdout + result.stderr
    run = only_run(runs_dir)
    assert summary(run)["gates"][0]["answer"]["how"] == "--yes-i-mean prod"


def test_secrets_never_reach_output_or_record(project: Path, runs_dir: Path) -> None:
    result = run_cli("demo-ok", "-i", "lab", "--yes", "-v")
    assert result.returncode == 0
    assert SECRET not in result.stdout + result.stderr
    for path in runs_dir.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path


def test_history_and_runs_show(project: Path, runs_dir: Path) -> None:
    assert run_cli("demo-ok", "-i", "lab", "--check").returncode == 0
    run_id = only_run(runs_dir).name
    listed = json.loads(run_cli("history", "--json").stdout)
    assert [r["run_id"] for r in listed] == [run_id]
    shown = run_cli("runs", "show", run_id)
    assert shown.returncode == 0 and "plan shown" in shown.stdout


@contextmanager
def busy_cores(count: int = 2) -> Iterator[None]:
    """Both cores busy, as under `make test` with two workers: the interrupt must not depend on timing."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def interrupted_quickly(child: pexpect.spawn, limit: float) -> float:
    started = time.monotonic()
    child.sendintr()
    child.expect(pexpect.EOF, timeout=limit)
    child.close()
    return time.monotonic() - started


def test_ctrl_c_at_a_gate_stops_the_playbook_even_under_load(project: Path, runs_dir: Path) -> None:
    """The gate would wait 120 s for an answer: Ctrl-C at its prompt must refuse it and stop the run at once."""
    with busy_cores():
        child = _spawn("demo-ok", "-i", "lab", "-e", "jeju_gate_timeout_seconds=120")
        child.expect("to approve")
        took = interrupted_quickly(child, 20)
    assert child.exitstatus == 4
    assert took < 15, f"the run took {took:.1f} s to stop after Ctrl-C"
    run = only_run(runs_dir)
    assert not (run / "artifacts" / "remediated.txt").exists()
    recorded = summary(run)
    assert recorded["outcome"] == "interrupted"
    assert recorded["gates"][0]["answer"]["how"] == "interrupted by the operator (Ctrl-C)"


def test_ctrl_c_while_a_task_runs_stops_the_playbook(project: Path, runs_dir: Path) -> None:
    """Ctrl-C between gates (here during a 30 s read) cancels ansible-playbook; nothing after it runs."""
    with busy_cores():
        child = _spawn("demo-slow", "-i", "lab", "-e", "jeju_gate_timeout_seconds=120")
        child.expect("Read slowly for half a minute")
        took = interrupted_quickly(child, 20)
    assert child.exitstatus == 4
    assert took < 15, f"the run took {took:.1f} s to stop after Ctrl-C"
    run = only_run(runs_dir)
    assert not (run / "artifacts" / "remediated.txt").exists()
    assert summary(run)["outcome"] == "interrupted" and summary(run)["gates"] == []
