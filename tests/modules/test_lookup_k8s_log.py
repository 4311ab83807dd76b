"""jeju.ops.k8s_log, the lookup that runs kubernetes.core.k8s_log's code in the controller: a real
ansible-playbook against the Kubernetes API double (the same client talks to it over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import dead_url, lookup_value

from jeju_lab.kube_double import Cluster, ThreadedKubeServer, write_kubeconfig

NAMESPACE = "op-stack"


def _op_node_pod(cluster: Cluster) -> None:
    cluster.ensure_namespace(NAMESPACE)
    cluster.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "op-node-1", "namespace": NAMESPACE},
                    "spec": {"containers": [{"name": "op-node", "image": "op-node:v1.9.0"}]}})
    for number in range(5):
        cluster.append_log(NAMESPACE, "op-node-1", f'msg="line {number}"')


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[Path]:
    server = ThreadedKubeServer(Cluster(ready_delay=0.1))
    server.start()
    try:
        server.call(_op_node_pod, server.cluster)
        yield write_kubeconfig(tmp_path / "kubeconfig", server.url, namespace=NAMESPACE)
    finally:
        server.stop()


def read_logs(collections: Path, tmp_path: Path, kubeconfig: Path, pods: dict[str, str], lines: int = 2):
    return lookup_value(collections, tmp_path, {
        label: f"{{{{ lookup('jeju.ops.k8s_log', '{pod}', namespace='{NAMESPACE}', tail_lines={lines}, "
               f"kubeconfig='{kubeconfig}') }}}}" for label, pod in pods.items()})


def test_a_pod_s_last_lines_a_missing_pod_s_reason_and_no_pod_at_all(collections: Path, tmp_path: Path,
                                                                       kubeconfig: Path) -> None:
    done, logs = read_logs(collections, tmp_path, kubeconfig, {"there": "op-node-1", "gone": "op-node-9", "none": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    assert logs["there"]["log_lines"][:2] == ['msg="line 3"', 'msg="line 4"']
    assert "op-node-9" in logs["gone"]["msg"] and "not found" in logs["gone"]["msg"]
    assert "log" not in logs["gone"]
    assert logs["none"] == {"skipped": True}


def test_zero_lines_reads_nothing(collections: Path, tmp_path: Path, kubeconfig: Path) -> None:
    done, logs = read_logs(collections, tmp_path, kubeconfig, {"there": "op-node-1"}, lines=0)
    assert done.returncode == 0, done.stdout + done.stderr
    assert logs == {"there": {"skipped": True}}


def test_a_cluster_that_does_not_answer_fails_the_task_naming_the_pod(collections: Path, tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", dead_url(), namespace=NAMESPACE)
    done, logs = read_logs(collections, tmp_path, kubeconfig, {"there": "op-node-1"})
    assert done.returncode == 2 and logs is None
    assert f"pod {NAMESPACE}/op-node-1" in done.stdout, done.stdout


def test_several_pods_in_one_query_one_answer_each_in_order(collections: Path, tmp_path: Path,
                                                            kubeconfig: Path) -> None:
    done, logs = lookup_value(collections, tmp_path, (
        f"{{{{ query('jeju.ops.k8s_log', 'op-node-9', '', 'op-node-1', namespace='{NAMESPACE}', tail_lines=1, "
        f"kubeconfig='{kubeconfig}') }}}}"))
    assert done.returncode == 0, done.stdout + done.stderr
    gone, none, there = logs
    assert "op-node-9" in gone["msg"] and none == {"skipped": True}
    assert there["log_lines"][0] == 'msg="line 4"' and "line 3" not in there["log"]
