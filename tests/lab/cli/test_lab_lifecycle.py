"""`jeju-play lab up|status|down` as a user runs them: a second up changes nothing, down leaves no process."""

from __future__ import annotations

import json
import os
import signal
import time

from jeju_lab.anvil import pid_alive
from tests.support import lab_env, listening_addresses, make_lab_project, run_cli


def test_up_status_break_heal_down(tmp_path) -> None:  # type: ignore[no-untyped-def]
    project = make_lab_project(tmp_path / "project")
    env = lab_env(project)
    started = run_cli("lab", "up", env_extra=env)
    try:
        assert started.returncode == 0, started.stderr
        assert "Lab started." in started.stdout
        state = json.loads((project / ".lab" / "state.json").read_text())
        pids = [state["supervisor_pid"], *state["anvil_pids"].values()]
        lab_yml = project / "inventories" / "local" / "group_vars" / "all" / "lab.yml"
        assert lab_yml.exists() and "jeju_l1_rpc_urls" in lab_yml.read_text()
        for endpoint in state["endpoints"]["l1_rpc_urls"]:
            assert endpoint.startswith("http://127.0.0.1:")
        assert state["endpoints"]["kube_api"].startswith("https://127.0.0.1:")  # TLS, the CA in the kubeconfig
        assert listening_addresses(pids) == {"127.0.0.1"}  # the lab binds loopback only

        again = run_cli("lab", "up", env_extra=env)
        assert again.returncode == 0 and "already running; nothing changed" in again.stdout
        assert json.loads((project / ".lab" / "state.json").read_text())["supervisor_pid"] == pids[0]

        status = json.loads(run_cli("lab", "status", "--json", env_extra=env).stdout)
        assert all(c["healthy"] for c in status["components"].values()), status

        assert run_cli("lab", "break", "nosuch", env_extra=env).returncode == 2
        assert run_cli("lab", "break", "disk-full", env_extra=env).returncode == 0
        faults = run_cli("lab", "faults", env_extra=env).stdout
        assert "ACTIVE disk-full" in " ".join(faults.split())
        assert run_cli("lab", "heal", env_extra=env).returncode == 0

        os.kill(state["anvil_pids"]["l2"], signal.SIGKILL)
        time.sleep(0.3)
        status = json.loads(run_cli("lab", "status", "--json", env_extra=env).stdout)
        assert status["components"]["anvil-l2"]["healthy"] is False

        restarted = run_cli("lab", "up", env_extra=env)
        assert restarted.returncode == 0 and "Lab started." in restarted.stdout
        new_state = json.loads((project / ".lab" / "state.json").read_text())
        assert new_state["supervisor_pid"] != pids[0]
        assert not any(pid_alive(p) for p in pids)
        pids = [new_state["supervisor_pid"], *new_state["anvil_pids"].values()]
    finally:
        stopped = run_cli("lab", "down", env_extra=env)
    assert stopped.returncode == 0
    time.sleep(0.2)
    assert not any(pid_alive(p) for p in pids)
    assert not (project / "inventories" / "local" / "group_vars" / "all" / "lab.yml").exists()
