"""jeju.ops.k8s_exec, the lookup that runs a read-only command in a pod from the controller: a real
ansible-playbook against the Kubernetes API double (the same client opens the same websocket to it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import dead_url, lookup_value

from jeju_lab.kube_double import Cluster, ThreadedKubeServer, write_kubeconfig
from jeju_lab.kube_double.resources import POD

NAMESPACE = "op-stack"


def _answer(namespace: str, pod: str, container: str, argv: list[str]) -> tuple[int, str, str]:
    if argv[:1] == ["df"]:
        return 0, f"Filesystem Use% Mounted on\n/dev/log 41% /var/log ({pod}/{container})\n", ""
    return 1, "", f"{argv[0]}: not found\n"


def _reth_pod(cluster: Cluster) -> None:
    cluster.ensure_namespace(NAMESPACE)
    cluster.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reth-1", "namespace": NAMESPACE},
                    "spec": {"containers": [{"name": "reth", "image": "reth:v1.1.0"},
                                            {"name": "sidecar", "image": "busybox:1.36"}]}})
    cluster.set_exec_handler(_answer)


def _phase(cluster: Cluster) -> str:
    return str((cluster.store.get(POD, NAMESPACE, "reth-1").get("status") or {}).get("phase"))


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[Path]:
    server = ThreadedKubeServer(Cluster(ready_delay=0.05))
    server.start()
    try:
        server.call(_reth_pod, server.cluster)
        deadline = time.monotonic() + 10
        while server.call(_phase, server.cluster) != "Running":
            assert time.monotonic() < deadline, "the double never ran the pod"
            time.sleep(0.05)
        yield write_kubeconfig(tmp_path / "kubeconfig", server.url, namespace=NAMESPACE)
    finally:
        server.stop()


def run_commands(collections: Path, tmp_path: Path, kubeconfig: Path, calls: dict[str, str],
                 check: bool = False):
    return lookup_value(collections, tmp_path, {
        label: f"{{{{ lookup('jeju.ops.k8s_exec', {args}, namespace='{NAMESPACE}', kubeconfig='{kubeconfig}') }}}}"
        for label, args in calls.items()}, check=check)


def test_output_exit_codes_a_missing_pod_s_reason_and_no_pod_at_all(collections: Path, tmp_path: Path,
                                                                      kubeconfig: Path) -> None:
    done, ran = run_commands(collections, tmp_path, kubeconfig, {
        "df": "'reth-1', command='df -h'",
        "sidecar": "'reth-1', command='df -h', container='sidecar'",
        "fails": "'reth-1', command='du -sh /var/log/reth'",
        "gone": "'reth-9', command='df -h', container='reth'",
        "none": "'', command='df -h'",
    })
    assert done.returncode == 0, done.stdout + done.stderr
    # the pod's first container unless one is named
    assert ran["df"]["rc"] == 0 and "/dev/log 41% /var/log (reth-1/reth)" in ran["df"]["stdout_lines"]
    assert "(reth-1/sidecar)" in ran["sidecar"]["stdout"]
    assert ran["fails"] == {"stdout": "", "stderr": "du: not found\n", "stdout_lines": [], "rc": 1}
    assert "op-stack/reth-9" in ran["gone"]["msg"] and "rc" not in ran["gone"]
    assert ran["none"] == {"skipped": True}


def test_a_read_runs_in_check_mode_too(collections: Path, tmp_path: Path, kubeconfig: Path) -> None:
    done, ran = run_commands(collections, tmp_path, kubeconfig, {"df": "'reth-1', command='df -h'"}, check=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ran["df"]["rc"] == 0 and "41%" in ran["df"]["stdout"]


def test_a_cluster_that_does_not_answer_fails_the_task_naming_the_pod(collections: Path, tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", dead_url(), namespace=NAMESPACE)
    done, ran = run_commands(collections, tmp_path, kubeconfig, {"df": "'reth-1', command='df -h'"})
    assert done.returncode == 2 and ran is None
    assert f"pod {NAMESPACE}/reth-1" in done.stdout, done.stdout
