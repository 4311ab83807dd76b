"""The runner killed with SIGKILL in the middle of remediation (after the restart, while it waits for the rollout):
the next run on the lab sees the dead run's Lease and its unfinished record, says what it had done, and takes the
lock over only when confirmed; the dead run's record is marked interrupted and still verifies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from tests.support import JEJU_PLAY, LabHandle, blocks_flow, kube, process_tree, recorded_runs, run_cli, wait_until

NS = "op-stack"
RESTARTED = "kubectl.kubernetes.io/restartedAt"


def restarted_at(lab: LabHandle) -> str | None:
    annotations = kube(lab).apps.read_namespaced_deployment("op-node", NS).spec.template.metadata.annotations
    return (annotations or {}).get(RESTARTED)


def lease_holder(lab: LabHandle) -> str | None:
    leases = kube(lab).coordination.list_namespaced_lease(NS).items
    return next((lease.spec.holder_identity for lease in leases if lease.metadata.name == "jeju-play-remediation"),
                None)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_a_run_killed_after_its_restart_is_found_named_and_taken_over_only_when_confirmed(lab: LabHandle) -> None:
    runs = lab.project / "runs"
    before = set(recorded_runs(runs))
    # a restart that does not help: after it the run waits out the rollout (30 s at lab speed), so the kill
    # lands mid-run however slow the machine is
    lab.lab.break_fault("restart-stuck")
    was = restarted_at(lab)
    killed = subprocess.Popen([str(JEJU_PLAY), "network-down", "-i", "local", "--yes"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    playbooks: set[int] = set()

    def restarted() -> bool:
        # the runner, its ansible-playbook (a session of its own), the workers
        playbooks.update(pid for pid in process_tree(killed.pid) if b"ansible-playbook" in _cmdline(pid))
        return restarted_at(lab) != was

    try:
        wait_until(restarted, "the run's rollout restart of op-node", limit=180)
        tree = process_tree(killed.pid)
        assert any(pid in tree for pid in playbooks), "the run's ansible-playbook ended before it could be killed"
    finally:
        os.kill(killed.pid, signal.SIGKILL)  # the runner alone (the OOM killer, kill -9): its playbook must follow
        killed.wait()
    (playbook,) = [pid for pid in tree if pid in playbooks][:1]
    # it dies with its runner (PR_SET_PDEATHSIG); left alone it would go on to verify and report for 15 s and more
    wait_until(lambda: not Path(f"/proc/{playbook}").exists(), "the dead run's ansible-playbook gone", limit=10,
               every=0.1)
    wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in tree),
               "the dead run's workers gone once their task ended", limit=90)
    dead = next(iter(set(recorded_runs(runs)) - before))
    assert json.loads((dead / "summary.json").read_text())["outcome"] == "running"
    assert dead.name in (lease_holder(lab) or "")
    restarted = restarted_at(lab)

    refused = run_cli("network-down", "-i", "local")  # no terminal, no --yes: nobody to confirm
    said = refused.stdout + refused.stderr
    assert refused.returncode == 4, said
    assert f"run {dead.name}" in said and "died mid-run" in said and "It had done:" in said
    assert "gates approved: Rollout restart op-node" in said  # the dead run's approvals.jsonl, read back
    assert "Traceback" not in said
    assert restarted_at(lab) == restarted and dead.name in (lease_holder(lab) or "")  # nothing changed

    confirmed = run_cli("network-down", "-i", "local", "--yes", timeout=300)
    said = confirmed.stdout + confirmed.stderr
    assert confirmed.returncode == 0, said
    assert f"Run {dead.name} never ended" in said and "marked interrupted" in said
    closed = json.loads((dead / "summary.json").read_text())
    assert closed["outcome"] == "interrupted" and "found by run" in closed["message"]
    assert run_cli("audit", "verify", dead.name).returncode == 0
    assert lease_holder(lab) is None and blocks_flow(lab)
