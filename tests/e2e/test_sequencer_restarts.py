"""sequencer-restarts end to end: make op-node restart in the lab while blocks still flow, run the real
`jeju-play sequencer-restarts`, and check from outside: no more restarts and blocks flowing (OOM, L1 flapping), or
nothing changed and the run escalated with its evidence (liveness probe, unknown). Assertions are on the lab and
the record, never the playbook's words.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jeju_lab.recovery import blocks_flowing, restarts_stopped
from jeju_lab.topology import OP_NODE_MEMORY_LIMIT
from tests.support import LabHandle, artifact, classification, kube, run_incident, wait_until

NS = "op-stack"
L1_ENV = "OP_NODE_L1_ETH_RPC"


def op_node(lab: LabHandle) -> Any:
    return kube(lab).apps.read_namespaced_deployment("op-node", NS)


def restarts(lab: LabHandle) -> int:
    return int(lab.lab.status()["components"]["op-node"]["restarts"])


def reset(lab: LabHandle) -> None:
    """op-node back on the primary L1 RPC at its seeded memory limit, one Ready pod, blocks flowing."""
    container = op_node(lab).spec.template.spec.containers[0]
    env = {e.name: e.value for e in container.env}
    primary = lab.state["endpoints"]["l1_rpc_urls"][0]
    if env.get(L1_ENV) != primary or container.resources.limits["memory"] != OP_NODE_MEMORY_LIMIT:
        kube(lab).apps.patch_namespaced_deployment("op-node", NS, {"spec": {"replicas": 1, "template": {"spec": {
            "containers": [{"name": container.name, "env": [{"name": L1_ENV, "value": primary}],
                            "resources": {"limits": {"memory": OP_NODE_MEMORY_LIMIT}}}]}}}})
    wait_until(lambda: blocks_flowing(lab.lab).recovered, "blocks flowing", limit=60)


@pytest.fixture
def sr_lab(lab: LabHandle) -> Iterator[LabHandle]:
    reset(lab)
    yield lab
    lab.lab.heal()
    reset(lab)


def sequencer_restarts(lab: LabHandle, *args: str) -> tuple[Any, Path]:
    return run_incident(lab, "sequencer-restarts", *args, timeout=240)


def summary(record: Path) -> dict[str, Any]:
    return json.loads((record / "summary.json").read_text())


def restarting(lab: LabHandle, fault: str) -> int:
    before = restarts(lab)
    lab.lab.break_fault(fault)
    wait_until(lambda: restarts(lab) >= before + 2, "op-node restarted twice", limit=30)
    assert blocks_flowing(lab.lab).recovered  # the fault's point: restarts while blocks still flow
    return op_node(lab).metadata.resource_version


def test_a_steady_op_node_is_not_restarting_and_nothing_changes(sr_lab: LabHandle) -> None:
    version = op_node(sr_lab).metadata.resource_version
    done, record = sequencer_restarts(sr_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "not_restarting"
    assert op_node(sr_lab).metadata.resource_version == version and summary(record)["gates"] == []


def test_oom_restarts_check_then_memory_raised_and_restarts_stop(sr_lab: LabHandle) -> None:
    version = restarting(sr_lab, "sequencer-oom-restarts")
    checked, record = sequencer_restarts(sr_lab, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert classification(record) == "out_of_memory"
    assert op_node(sr_lab).metadata.resource_version == version

    done, record = sequencer_restarts(sr_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "out_of_memory"
    assert op_node(sr_lab).spec.template.spec.containers[0].resources.limits["memory"] == "4Gi"
    assert restarts_stopped(sr_lab.lab).recovered
    assert "resources.limits.memory" in artifact(record, "drift.yml")


def test_l1_flapping_switches_op_node_to_the_backup(sr_lab: LabHandle) -> None:
    version = restarting(sr_lab, "l1-rpc-flapping")
    checked, record = sequencer_restarts(sr_lab, "--check")
    assert classification(record) == "l1_flapping" and checked.returncode == 0, checked.stdout
    assert op_node(sr_lab).metadata.resource_version == version

    done, record = sequencer_restarts(sr_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    env = {e.name: e.value for e in op_node(sr_lab).spec.template.spec.containers[0].env}
    assert env[L1_ENV] == sr_lab.state["endpoints"]["l1_rpc_urls"][1]
    assert restarts_stopped(sr_lab.lab).recovered


def test_a_failing_liveness_probe_is_reported_and_nothing_changes(sr_lab: LabHandle) -> None:
    version = restarting(sr_lab, "liveness-probe-failing")
    done, record = sequencer_restarts(sr_lab, "--yes")
    assert done.returncode == 3, done.stdout + done.stderr
    assert classification(record) == "liveness_probe"
    assert op_node(sr_lab).metadata.resource_version == version and summary(record)["gates"] == []
    report = artifact(record, "incident-report.md")
    assert "Status: Escalated" in report and "timeout 1 s" in report and "/healthz" in report


def test_unknown_restarts_escalate_with_the_timeline(sr_lab: LabHandle) -> None:
    version = restarting(sr_lab, "sequencer-panics")
    done, record = sequencer_restarts(sr_lab, "--yes")
    assert done.returncode == 3, done.stdout + done.stderr
    assert classification(record) == "unknown"
    assert op_node(sr_lab).metadata.resource_version == version and summary(record)["gates"] == []
    assert "index out of range" in artifact(record, "incident-report.md")
