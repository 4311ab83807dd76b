"""rollback end to end: ship a bad op-node release in the lab, run the real `jeju-play rollback`, assert on the lab.

The assertions read what `kubectl rollout history` and `kubectl get deployment` show: the image, the revisions,
the pods; never the playbook's own words. Each test starts from a lab whose op-node runs the good release.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.support import LabHandle, artifact, classification, run_cli, run_incident

from .network_down_lab import NS, blocks_flow, kube, op_node, op_node_pods, wait_until

BROKEN = "-rc.broken"  # jeju_lab/faults_state.py: BROKEN_RELEASE_SUFFIX


def image(lab: LabHandle) -> str:
    return str(op_node(lab).spec.template.spec.containers[0].image)


def revision(lab: LabHandle) -> int:
    return int(op_node(lab).metadata.annotations["deployment.kubernetes.io/revision"])


def crash_looping_pods(lab: LabHandle) -> list[str]:
    return [p.metadata.name for p in op_node_pods(lab)
            if (p.status.container_statuses or [None])[0] is not None
            and p.status.container_statuses[0].state.waiting is not None]


@pytest.fixture
def bad_release(lab: LabHandle) -> Iterator[LabHandle]:
    lab.lab.break_fault("bad-deploy")
    wait_until(lambda: bool(crash_looping_pods(lab)), "the new release crash-looping")
    yield lab
    lab.lab.heal()
    wait_until(lambda: not image(lab).endswith(BROKEN) and not crash_looping_pods(lab), "op-node back on its release")


def rollback(lab: LabHandle, *args: str) -> tuple[Any, Any]:
    return run_incident(lab, "rollback", *args, timeout=180)


def test_check_then_refused_then_rolled_back(bad_release: LabHandle) -> None:
    lab = bad_release
    bad_image, bad_revision = image(lab), revision(lab)
    version = op_node(lab).metadata.resource_version

    checked, record = rollback(lab, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert classification(record) == "roll_back"
    assert op_node(lab).metadata.resource_version == version

    refused, _ = rollback(lab, "-e", "jeju_gate_timeout_seconds=1")
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert op_node(lab).metadata.resource_version == version

    done, record = rollback(lab, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert image(lab) == bad_image.removesuffix(BROKEN)
    assert revision(lab) == bad_revision + 1  # like `kubectl rollout undo`: the old template, a new revision
    assert crash_looping_pods(lab) == [] and len(op_node_pods(lab)) == 1
    assert blocks_flow(lab)
    [gate] = json.loads((record / "summary.json").read_text())["gates"]
    assert gate["decision"] == "approved" and gate["change"]["revision"] == f"{bad_revision} -> {bad_revision - 1}"
    drift = yaml.safe_load(artifact(record, "drift.yml"))["drift"]
    assert [(d["file"], d["key"], d["was"], d["live"]) for d in drift] == [
        ("op-node/values.yaml", "image", bad_image, bad_image.removesuffix(BROKEN))]


def test_a_revision_that_does_not_exist_changes_nothing(bad_release: LabHandle) -> None:
    version = op_node(bad_release).metadata.resource_version
    done, record = rollback(bad_release, "--yes", "-e", "revision=999")
    assert done.returncode == 1
    assert "has no revision 999" in json.loads((record / "summary.json").read_text())["message"]
    assert op_node(bad_release).metadata.resource_version == version


@pytest.fixture
def fresh_deployment(lab: LabHandle) -> Iterator[str]:
    """A Deployment created for this test: one revision, nothing earlier (the lab's own ones change in tests)."""
    apps, _ = kube(lab)
    labels = {"app.kubernetes.io/name": "canary"}
    apps.create_namespaced_deployment(NS, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "canary", "namespace": NS},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "canary", "image": "busybox:1.36"}]}}}})
    yield "canary"
    apps.delete_namespaced_deployment("canary", NS)


def test_nothing_earlier_to_roll_back_to_is_escalated(lab: LabHandle, fresh_deployment: str) -> None:
    apps, _ = kube(lab)
    wait_until(lambda: (apps.read_namespaced_deployment(fresh_deployment, NS).metadata.annotations or {}).get(
        "deployment.kubernetes.io/revision") == "1", "the canary's first revision")
    generation = apps.read_namespaced_deployment(fresh_deployment, NS).metadata.generation  # status moves on
    assert generation == 1
    done, record = rollback(lab, "--yes", "-e", f"deployment={fresh_deployment}")
    assert done.returncode == 3, done.stdout + done.stderr
    assert classification(record) == "no_earlier_revision"
    assert apps.read_namespaced_deployment(fresh_deployment, NS).metadata.generation == generation
    assert f"helm rollback {fresh_deployment}" in json.loads((record / "summary.json").read_text())["escalation"][
        "advice"]


def test_drill_rollback_recovers(lab: LabHandle) -> None:
    """The real `jeju-play drill` (fresh lab, break, settle, run, check from outside). Restarts the lab: last."""
    done = run_cli("drill", "rollback", "--json", timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout[done.stdout.index("{"):])
    assert report["fault"] == "bad-deploy" and report["recovered"] is True
