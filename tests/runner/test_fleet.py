"""One incident on several environments at once (`-i A -i B`, or `-i GROUP`): a run and a record each, at the same
time; one failing does not stop the others; bad input anywhere runs nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import commit_project, recorded_runs, run_cli


def summaries(runs_dir: Path) -> dict[str, dict]:
    found = {}
    for run in recorded_runs(runs_dir):
        summary = json.loads((run / "summary.json").read_text())
        found[summary["environment"]] = summary
    return found


def test_two_environments_run_at_once_with_a_record_each(project: Path, runs_dir: Path) -> None:
    commit_project(project)  # production runs only reviewed content
    done = run_cli("demo-ok", "-i", "lab", "-i", "prod", "--yes", "--yes-i-mean", "prod")
    assert done.returncode == 0, done.stdout + done.stderr
    recorded = summaries(runs_dir)
    assert {env: s["outcome"] for env, s in recorded.items()} == {"lab": "verified", "prod": "verified"}
    assert recorded["prod"]["gates"][0]["answer"]["how"] == "--yes-i-mean prod"
    assert recorded["lab"]["gates"][0]["answer"]["how"] == "--yes"
    # They ran side by side: each started before the other ended.
    assert recorded["lab"]["started"] < recorded["prod"]["ended"] and recorded["prod"]["started"] < recorded[
        "lab"]["ended"]
    lines = done.stdout.splitlines()
    assert "demo-ok on 2 environments at once: lab, prod (a record each)" in lines[0]
    assert all(len(line) <= 80 for line in lines), done.stdout
    for env, summary in recorded.items():
        assert f"{env}: verified (exit 0)" in done.stdout and summary["run_id"] in done.stdout


def test_a_group_runs_its_environments_and_one_refused_does_not_stop_the_other(project: Path,
                                                                              runs_dir: Path) -> None:
    group = project / "inventories" / "everything"
    group.mkdir()
    (group / "environments.yml").write_text("---\nenvironments: [lab, prod]\n")
    done = run_cli("demo-ok", "-i", "everything", "--yes", "--json")  # prod needs --yes-i-mean prod
    assert done.returncode == 4, done.stdout + done.stderr
    reported = {r["environment"]: r for r in json.loads(done.stdout)}
    assert (reported["lab"]["exit_code"], reported["lab"]["outcome"]) == (0, "verified")
    assert (reported["prod"]["exit_code"], reported["prod"]["outcome"]) == (4, "refused")
    assert "--yes-i-mean prod" in reported["prod"]["error"]
    assert {env: s["outcome"] for env, s in summaries(runs_dir).items()} == {"lab": "verified"}


def test_forks_bounds_how_many_run_at_once(project: Path, runs_dir: Path) -> None:
    commit_project(project)
    done = run_cli("demo-ok", "-i", "lab", "-i", "prod", "--yes", "--yes-i-mean", "prod", "--forks", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "demo-ok on 2 environments 1 at a time: lab, prod (a record each)" in done.stdout.splitlines()[0]
    first, second = sorted(summaries(runs_dir).values(), key=lambda s: s["started"])
    assert first["ended"] <= second["started"], (first, second)  # one after the other


def test_bad_input_on_any_environment_runs_nothing(project: Path, runs_dir: Path) -> None:
    unknown = run_cli("demo-ok", "-i", "lab", "-i", "nosuch", "--yes")
    assert unknown.returncode == 2 and "Unknown environment 'nosuch'" in unknown.stderr, unknown.stderr
    elsewhere = run_cli("demo-ok", "-i", "lab", "-i", "prod", "--yes-i-mean", "mainnet")
    assert elsewhere.returncode == 2 and "--yes-i-mean mainnet: not among the environments of this run (lab, prod)" in (
        " ".join(elsewhere.stderr.split())), elsewhere.stderr
    group = project / "inventories" / "broken"
    group.mkdir()
    (group / "environments.yml").write_text("environments: lab\n")
    broken = run_cli("demo-ok", "-i", "broken", "--yes")
    assert broken.returncode == 2 and "expected `environments:` with a list" in broken.stderr, broken.stderr
    bad_extra = run_cli("demo-ok", "-i", "lab", "-i", "prod", "--yes", "-e", "k=[1")
    assert bad_extra.returncode == 2 and "-e k" in bad_extra.stderr, bad_extra.stderr
    no_forks = run_cli("demo-ok", "-i", "lab", "-i", "prod", "--yes", "--forks", "0")
    assert no_forks.returncode == 2 and "--forks 0: give 1 or more" in no_forks.stderr, no_forks.stderr
    for result in (unknown, elsewhere, broken, bad_extra, no_forks):
        assert "Traceback" not in result.stderr
    assert recorded_runs(runs_dir) == []


def test_the_fleet_exits_with_its_worst_kind_of_outcome() -> None:
    from jeju_play.fleet import FleetRun, exit_code

    def runs(*codes: int) -> list[FleetRun]:
        return [FleetRun(f"env-{n}", code) for n, code in enumerate(codes)]

    assert exit_code(runs(0, 0)) == 0
    assert exit_code(runs(0, 4, 3)) == 3  # escalated (humans have it) before refused
    assert exit_code(runs(2, 1, 4)) == 1  # a failure first
    assert exit_code(runs(0, 2)) == 2
    assert exit_code(runs(0, -9)) == 1  # killed: a failure
