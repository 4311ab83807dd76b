"""The right target before any change (jeju_play.identity): a changing run reaches the cluster the inventory
names by the UID of its kube-system namespace, or it is refused before it takes the lock or changes anything."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from tests.support import LabHandle, kube, recorded_runs, run_cli

OTHER_CLUSTER = "0b5e7c1a-4a8e-4c55-9d2f-2f6a1c9e7d31"


@pytest.fixture
def lab_vars(lab: LabHandle) -> Iterator[tuple[LabHandle, Path, dict]]:
    """The lab's generated inventory file, put back as it was after the test."""
    path = lab.project / "inventories" / "local" / "group_vars" / "all" / "lab.yml"
    original = path.read_text()
    try:
        yield lab, path, yaml.safe_load(original)
    finally:
        path.write_text(original)


def _op_node_version(lab: LabHandle) -> str:
    return str(kube(lab).apps.read_namespaced_deployment("op-node", "op-stack").metadata.resource_version)


def _no_lease(lab: LabHandle) -> bool:
    from kubernetes import client, config

    from jeju_lab.topology import KUBE_CONTEXT

    api = client.CoordinationV1Api(config.new_client_from_config(config_file=lab.kubeconfig, context=KUBE_CONTEXT))
    try:
        api.read_namespaced_lease("jeju-play-remediation", "op-stack")
    except ApiException as exc:
        return exc.status == 404
    return False


def _newest_summary(lab: LabHandle) -> dict:
    return json.loads((recorded_runs(Path(lab.env["JEJU_PLAY_RUNS"]))[-1] / "summary.json").read_text())


def test_the_lab_names_its_own_cluster(lab_vars: tuple[LabHandle, Path, dict]) -> None:
    lab, _path, variables = lab_vars
    uid = kube(lab).core.read_namespace("kube-system").metadata.uid
    assert variables["jeju_kube_cluster_uid"] == uid


def test_a_kubeconfig_reaching_another_cluster_is_refused_before_any_change(
        lab_vars: tuple[LabHandle, Path, dict]) -> None:
    lab, path, variables = lab_vars
    actual = variables["jeju_kube_cluster_uid"]
    path.write_text(yaml.safe_dump({**variables, "jeju_kube_cluster_uid": OTHER_CLUSTER}))
    before = _op_node_version(lab)
    done = run_cli("network-down", "-i", "local", "--yes", env_extra=lab.env)
    said = done.stdout + done.stderr
    assert done.returncode == 4, said
    assert "Wrong cluster for 'local'" in said and actual in said and OTHER_CLUSTER in said
    assert "Traceback" not in said
    assert _op_node_version(lab) == before and _no_lease(lab)
    summary = _newest_summary(lab)
    assert summary["incident"] == "network-down" and summary["outcome"] == "refused"
    assert summary["exit_code"] == 4


def test_production_without_a_named_cluster_is_refused(lab_vars: tuple[LabHandle, Path, dict]) -> None:
    lab, path, variables = lab_vars
    unnamed = {k: v for k, v in variables.items() if k != "jeju_kube_cluster_uid"}
    path.write_text(yaml.safe_dump(unnamed))
    production = path.with_name("zz-production.yml")  # read after vars.yml, which says `jeju_production: false`
    production.write_text("---\njeju_production: true\n")
    before = _op_node_version(lab)
    try:
        done = run_cli("network-down", "-i", "local", "--yes-i-mean", "local", env_extra=lab.env)
    finally:
        production.unlink()
    said = done.stdout + done.stderr
    assert done.returncode == 4, said
    assert "does not name its cluster: set jeju_kube_cluster_uid" in said
    assert "get namespace kube-system" in said
    assert _op_node_version(lab) == before and _no_lease(lab)
