"""A fleet of real Jejus (`jeju-play lab up --count 2`) and one incident across them (`-i lab-fleet`): each its own
chains, cluster and Prometheus; one run and one record each; `lab down` stops them all by pid."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from jeju_lab.anvil import pid_alive
from tests.support import fleet_member_pids, fleet_steady, lab_env, make_lab_project, recorded_runs, run_cli

pytestmark = [pytest.mark.lab, pytest.mark.slow]
MEMBERS = ("local-1", "local-2")


@pytest.fixture
def fleet_project(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    project = make_lab_project(tmp_path / "fleet-project")
    env = lab_env(project)
    yield project, env
    run_cli("lab", "down", env_extra=env, timeout=120)  # whatever the test did, every member stops


@pytest.mark.timeout(900)
def test_two_jejus_start_run_daily_checks_in_one_run_and_stop(fleet_project: tuple[Path, dict[str, str]]) -> None:
    project, env = fleet_project
    up = run_cli("lab", "up", "--count", "2", env_extra=env, timeout=300)
    assert up.returncode == 0, up.stdout + up.stderr
    assert all(name in up.stdout for name in MEMBERS), up.stdout
    labs = {name: yaml.safe_load((project / "inventories" / name / "group_vars" / "all" / "lab.yml").read_text())
            for name in MEMBERS}
    # Two Jejus, not one twice: their own cluster, chains and Prometheus label.
    assert labs["local-1"]["jeju_kube_cluster_uid"] != labs["local-2"]["jeju_kube_cluster_uid"]
    assert labs["local-1"]["jeju_l2_rpc_urls"] != labs["local-2"]["jeju_l2_rpc_urls"]
    for name in MEMBERS:
        prometheus = yaml.safe_load((project / ".lab" / "fleet" / name / "monitoring" / "prometheus.yml").read_text())
        assert prometheus["global"]["external_labels"] == {"environment": name}

    fleet_steady(project, list(MEMBERS))
    done = run_cli("daily-checks", "-i", "lab-fleet", "--yes", env_extra=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    summaries = [json.loads((run / "summary.json").read_text()) for run in recorded_runs(project / "runs")]
    assert sorted(s["environment"] for s in summaries) == sorted(MEMBERS)
    assert {s["outcome"] for s in summaries} == {"verified"}, [(s["environment"], s["message"]) for s in summaries]
    assert all(name in done.stdout for name in MEMBERS), done.stdout

    pids = [pid for name in MEMBERS for pid in fleet_member_pids(project, name)]
    down = run_cli("lab", "down", env_extra=env, timeout=120)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "Fleet stopped: 2 Jejus (local-1, local-2)" in down.stdout, down.stdout
    assert [pid for pid in pids if pid_alive(pid)] == []
    assert not any((project / "inventories" / name).exists() for name in (*MEMBERS, "lab-fleet"))
