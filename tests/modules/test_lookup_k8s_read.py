"""jeju.ops.k8s_read, the kubernetes.core.k8s lookup for several reads in one task, asked again while the API has
a bad moment: a real ansible-playbook against the Kubernetes API double (the same client talks to it over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import dead_url, lookup_value

from jeju_lab.kube_double import Cluster, ThreadedKubeServer, write_kubeconfig
from jeju_lab.kube_double.api_faults import ApiFault

NAMESPACE = "op-stack"


def _objects(cluster: Cluster) -> None:
    cluster.ensure_namespace(NAMESPACE)
    for name in ("reth", "op-node"):
        cluster.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NAMESPACE},
                        "spec": {"selector": {"app.kubernetes.io/name": name}, "ports": [{"port": 8545}]}})
    for name, labels in (("freeze", {"jeju.network/freeze": "security"}), ("other", {})):
        cluster.create({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels}, "data": {}})


@pytest.fixture
def served() -> Iterator[ThreadedKubeServer]:
    server = ThreadedKubeServer(Cluster(ready_delay=0.1))
    server.start()
    try:
        server.call(_objects, server.cluster)
        yield server
    finally:
        server.stop()


def read(collections: Path, tmp_path: Path, kubeconfig: Path, reads: str, retries: int = 2):
    return lookup_value(collections, tmp_path, (
        f"{{{{ lookup('jeju.ops.k8s_read', {reads}, namespace='{NAMESPACE}', retries={retries}, "
        f"delay_seconds=0.2, kubeconfig='{kubeconfig}') }}}}"))


def names(objects: list[dict]) -> list[str]:
    return sorted(item["metadata"]["name"] for item in objects)


def test_named_reads_one_object_a_label_and_a_whole_kind(collections: Path, tmp_path: Path,
                                                         served: ThreadedKubeServer) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", served.url, namespace=NAMESPACE)
    done, got = read(collections, tmp_path, kubeconfig,
                     "{'reth': {'kind': 'Service', 'resource_name': 'reth'}, "
                     "'freezes': {'kind': 'ConfigMap', 'label_selector': 'jeju.network/freeze=security'}, "
                     "'Service': 'v1'}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert names(got["objects"]["reth"]) == ["reth"]
    assert names(got["objects"]["freezes"]) == ["freeze"]
    assert names(got["objects"]["Service"]) == ["op-node", "reth"]
    assert got["retried"] == []


def test_a_passing_500_is_asked_again_and_said(collections: Path, tmp_path: Path,
                                                served: ThreadedKubeServer) -> None:
    served.cluster.api_faults.arm(ApiFault("500", 1, frozenset({"GET"}), "/services"))
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", served.url, namespace=NAMESPACE)
    done, got = read(collections, tmp_path, kubeconfig, "{'reth': {'kind': 'Service', 'resource_name': 'reth'}}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert names(got["objects"]["reth"]) == ["reth"]
    [retried] = got["retried"]
    assert retried["kind"] == "Service" and retried["attempt"] == 1 and "500" in retried["error"]


def test_a_cluster_that_does_not_answer_fails_naming_the_read(collections: Path, tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", dead_url(), namespace=NAMESPACE)
    done, got = read(collections, tmp_path, kubeconfig, "{'reth': {'kind': 'Service', 'resource_name': 'reth'}}",
                     retries=1)
    assert done.returncode == 2 and got is None
    assert "reading Service reth (v1) in op-stack from the Kubernetes API failed (asked again 1 times)" in " ".join(
        done.stdout.split()), done.stdout


def test_an_unknown_option_is_refused_with_the_ones_it_takes(collections: Path, tmp_path: Path,
                                                             served: ThreadedKubeServer) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", served.url, namespace=NAMESPACE)
    done, got = read(collections, tmp_path, kubeconfig, "{'reth': {'kind': 'Service', 'name': 'reth'}}")
    assert done.returncode == 2 and got is None
    assert "must be an api_version or a dictionary of kind, api_version, resource_name" in " ".join(
        done.stdout.split()), done.stdout
