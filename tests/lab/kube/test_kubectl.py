"""kubectl v1.32 against the API double: get, logs, scale, rollout restart/status/history/undo, top, exec."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from kubernetes import client

from jeju_lab.kube_double import ThreadedKubeServer

from .helpers import NAMESPACE, deployment, wait_for

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (apt-get install kubernetes-client)")


@pytest.fixture
def kubectl(kubeconfig: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(KUBECTL), "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "kcache"), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if check:
            assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
        return done

    return run


@pytest.fixture
def op_node(lab: ThreadedKubeServer, api: client.ApiClient) -> str:
    client.AppsV1Api(api).create_namespaced_deployment(NAMESPACE, deployment(replicas=2))
    core = client.CoreV1Api(api)
    pods = wait_for(
        "two running pods",
        lambda: (
            (items := core.list_namespaced_pod(NAMESPACE, field_selector="status.phase=Running").items)
            and len(items) == 2
            and items
        ),
    )
    for pod in pods:
        for number in range(3):
            lab.call(lab.cluster.append_log, NAMESPACE, pod.metadata.name, f"{pod.metadata.name} line {number}")
    return "op-node"


def test_get_table_and_json(kubectl, op_node: str) -> None:  # type: ignore[no-untyped-def]
    table = kubectl("get", "pods").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert len(table) == 3 and all(" 1/1 " in row and "Running" in row for row in table[1:])
    deployments = kubectl("get", "deployments").stdout
    assert "op-node   2/2     2            2" in deployments
    document = json.loads(kubectl("get", "deployment", op_node, "-o", "json").stdout)
    assert document["kind"] == "Deployment" and document["status"]["readyReplicas"] == 2
    pods = json.loads(kubectl("get", "pods", "-l", "app=op-node", "-o", "json").stdout)
    assert pods["kind"] == "List" and len(pods["items"]) == 2
    missing = kubectl("get", "deployment", "nope", check=False)
    assert missing.returncode == 1 and 'deployments.apps "nope" not found' in missing.stderr


def test_logs_tail_through_the_deployment(kubectl, op_node: str) -> None:  # type: ignore[no-untyped-def]
    lines = kubectl("logs", f"deployment/{op_node}", "--tail=2").stdout.splitlines()
    assert len(lines) == 2 and lines[0].endswith("line 1") and lines[1].endswith("line 2")


def test_scale_and_rollout(kubectl, op_node: str) -> None:  # type: ignore[no-untyped-def]
    assert "scaled" in kubectl("scale", f"deployment/{op_node}", "--replicas=3").stdout
    assert "successfully rolled out" in kubectl("rollout", "status", f"deployment/{op_node}", "--timeout=30s").stdout
    assert "restarted" in kubectl("rollout", "restart", f"deployment/{op_node}").stdout
    assert "successfully rolled out" in kubectl("rollout", "status", f"deployment/{op_node}", "--timeout=30s").stdout
    history = kubectl("rollout", "history", f"deployment/{op_node}").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    assert "rolled back" in kubectl("rollout", "undo", f"deployment/{op_node}").stdout
    assert "successfully rolled out" in kubectl("rollout", "status", f"deployment/{op_node}", "--timeout=30s").stdout
    history = kubectl("rollout", "history", f"deployment/{op_node}").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]
    template = json.loads(kubectl("get", "deployment", op_node, "-o", "json").stdout)["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" not in (template["metadata"].get("annotations") or {})


def test_top_pods(kubectl, op_node: str) -> None:  # type: ignore[no-untyped-def]
    rows = kubectl("top", "pods").stdout.splitlines()
    assert rows[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert len(rows) == 3 and rows[1].split()[1:] == ["5m", "64Mi"]


def test_exec_returns_output_and_exit_code(lab: ThreadedKubeServer, kubectl, op_node: str) -> None:  # type: ignore[no-untyped-def]
    lab.call(lab.cluster.set_exec_handler, lambda ns, pod, container, argv: (int(argv[-1]), "out\n", "err\n"))
    ok = kubectl("exec", f"deployment/{op_node}", "--", "exit", "0")
    assert ok.stdout == "out\n" and "err" in ok.stderr
    failed = kubectl("exec", f"deployment/{op_node}", "--", "exit", "3", check=False)
    assert failed.returncode == 3 and failed.stdout == "out\n"


def test_apply_and_delete_a_manifest(kubectl, op_node: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rpc-urls}\ndata: {l1: http://l1}\n")
    assert "created" in kubectl("apply", "-f", str(manifest)).stdout
    assert "unchanged" in kubectl("apply", "-f", str(manifest)).stdout
    assert "deleted" in kubectl("delete", "-f", str(manifest)).stdout
