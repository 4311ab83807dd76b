"""data-corruption end to end: corrupt op-node's or reth's data volume in the lab, run the real
`jeju-play data-corruption`, and check from outside: the Deployment mounts a new PVC restored from the newest
snapshot, the corrupt PVC is still there, the component serves again. Without a ready snapshot nothing changes and
the run escalates (exit 3). Assertions are on the lab and the record, never the playbook's words.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jeju_lab.recovery import blocks_flowing, rpc_serving
from jeju_lab.topology import RETH_DATA_PVC
from tests.support import LabHandle, artifact, classification, kube, run_incident, wait_until

NS = "op-stack"
CLAIMS = {"op-node": "op-node-data", "reth": RETH_DATA_PVC}


def deployment(lab: LabHandle, name: str) -> Any:
    return kube(lab).apps.read_namespaced_deployment(name, NS)


def data_claim(lab: LabHandle, name: str) -> str:
    volumes = deployment(lab, name).spec.template.spec.volumes or []
    return next(v.persistent_volume_claim.claim_name for v in volumes if v.name == "data")


def pvc(lab: LabHandle, name: str) -> Any:
    return kube(lab).core.read_namespaced_persistent_volume_claim(name, NS)


def healthy(lab: LabHandle) -> bool:
    return blocks_flowing(lab.lab).recovered and rpc_serving(lab.lab).recovered


def reset(lab: LabHandle) -> None:
    """Each component back on its original claim, the restored claims deleted."""
    clients = kube(lab)
    for name, claim in CLAIMS.items():
        if data_claim(lab, name) != claim:
            clients.apps.patch_namespaced_deployment(name, NS, {"spec": {"template": {"spec": {"volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": claim}}]}}}})
    for item in clients.core.list_namespaced_persistent_volume_claim(NS).items:
        if "-restored-" in item.metadata.name:
            clients.core.delete_namespaced_persistent_volume_claim(item.metadata.name, NS)
    wait_until(lambda: healthy(lab), "op-node producing blocks and the public RPC serving", limit=90)


@pytest.fixture
def dc_lab(lab: LabHandle) -> Iterator[LabHandle]:
    reset(lab)
    yield lab
    lab.lab.heal()
    reset(lab)


def data_corruption(lab: LabHandle, *args: str) -> tuple[Any, Path]:
    return run_incident(lab, "data-corruption", *args, timeout=240)


def summary(record: Path) -> dict[str, Any]:
    return json.loads((record / "summary.json").read_text())


def versions(lab: LabHandle) -> dict[str, str]:
    clients = kube(lab)
    found = {f"deployment/{n}": deployment(lab, n).metadata.resource_version for n in CLAIMS}
    found.update({f"pvc/{p.metadata.name}": p.metadata.resource_version
                  for p in clients.core.list_namespaced_persistent_volume_claim(NS).items})
    return found


def test_healthy_volumes_are_not_corrupt_and_nothing_changes(dc_lab: LabHandle) -> None:
    before = versions(dc_lab)
    done, record = data_corruption(dc_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "not_corrupt"
    assert versions(dc_lab) == before and summary(record)["gates"] == []


def test_reth_volume_corrupt_check_then_restored_into_a_new_pvc(dc_lab: LabHandle) -> None:
    old_uid = pvc(dc_lab, RETH_DATA_PVC).metadata.uid
    dc_lab.lab.break_fault("reth-volume-corrupt")
    wait_until(lambda: not rpc_serving(dc_lab.lab).recovered, "the public RPC down")
    before = versions(dc_lab)

    checked, record = data_corruption(dc_lab, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert classification(record) == "reth_volume"
    assert [g["decision"].split()[0] for g in summary(record)["gates"]] == ["would"] * 4  # scale, PVC, point, scale
    assert versions(dc_lab) == before and not rpc_serving(dc_lab.lab).recovered

    done, record = data_corruption(dc_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "reth_volume"
    claim = data_claim(dc_lab, "reth")
    assert claim.startswith(f"{RETH_DATA_PVC}-restored-")
    assert pvc(dc_lab, claim).spec.data_source.name == "reth-data-daily-2"  # the newest ready snapshot
    assert pvc(dc_lab, RETH_DATA_PVC).metadata.uid == old_uid  # the corrupt PVC is kept, never deleted
    assert rpc_serving(dc_lab.lab).recovered
    report = artifact(record, "incident-report.md")
    assert RETH_DATA_PVC in report and claim in report


def test_op_node_volume_corrupt_is_restored_and_blocks_flow(dc_lab: LabHandle) -> None:
    dc_lab.lab.break_fault("pvc-corrupt")
    wait_until(lambda: not blocks_flowing(dc_lab.lab).recovered, "op-node stopped producing blocks")
    done, record = data_corruption(dc_lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert classification(record) == "op_node_volume"
    assert data_claim(dc_lab, "op-node").startswith("op-node-data-restored-")
    assert pvc(dc_lab, "op-node-data").metadata.name == "op-node-data"
    assert blocks_flowing(dc_lab.lab).recovered


def test_no_ready_snapshot_escalates_before_any_change(dc_lab: LabHandle) -> None:
    dc_lab.lab.break_fault("reth-volume-corrupt-no-snapshot")
    wait_until(lambda: not rpc_serving(dc_lab.lab).recovered, "the public RPC down")
    before = versions(dc_lab)
    done, record = data_corruption(dc_lab, "--yes")
    assert done.returncode == 3, done.stdout + done.stderr
    assert classification(record) == "no_snapshot"
    assert versions(dc_lab) == before and summary(record)["gates"] == []
    report = artifact(record, "incident-report.md")
    assert "Status: Escalated" in report and RETH_DATA_PVC in report
