"""kubernetes.core modules (k8s, k8s_info, k8s_scale, k8s_rollback, k8s_log, k8s_exec) in one real
ansible-playbook run against the API double."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from kubernetes import client

from jeju_lab.kube_double import ThreadedKubeServer

from .helpers import NAMESPACE, wait_for

PLAYBOOK = Path(__file__).with_name("playbook_kubernetes_core.yml")
VENV_BIN = Path(sys.executable).parent


def _probe_pod(lab: ThreadedKubeServer) -> None:
    cluster = lab.cluster
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "probe", "namespace": NAMESPACE},
        "spec": {"containers": [{"name": "probe", "image": "busybox:1.36"}]},
    }
    cluster.create(pod)
    for number in range(4):
        cluster.append_log(NAMESPACE, "probe", f"probe line {number}")
    cluster.set_exec_handler(lambda ns, name, container, argv: (0, f"{' '.join(argv)}: v1.9.0\n", ""))


def _run_playbook(tmp_path: Path, kubeconfig: Path) -> dict[str, Any]:
    (tmp_path / "inventory").write_text(
        f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n"
    )
    results = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
        K8S_AUTH_KUBECONFIG=str(kubeconfig),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
        ANSIBLE_NOCOWS="1",
    )
    run = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", "inventory", str(PLAYBOOK), "-e", f"results_path={results}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return dict(json.loads(results.read_text()))


def test_kubernetes_core_modules(
    lab: ThreadedKubeServer, kubeconfig: Path, api: client.ApiClient, tmp_path: Path
) -> None:
    lab.call(_probe_pod, lab)
    core = client.CoreV1Api(api)
    wait_for("probe running", lambda: core.read_namespaced_pod("probe", NAMESPACE).status.phase == "Running")
    results = _run_playbook(tmp_path, kubeconfig)

    assert results["created"]["changed"] and results["created"]["result"]["status"]["readyReplicas"] == 2
    assert results["checked"]["changed"] and results["checked"]["result"]["spec"]["replicas"] == 5
    after = results["after_check"]["resources"][0]
    assert after["spec"]["replicas"] == 2
    before = results["before_check"]["resources"][0]
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]

    container = results["patched"]["result"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "op-node:v2" and container["env"] == [{"name": "A", "value": "1"}]

    assert results["applied"]["changed"] and not results["applied_again"]["changed"]
    assert [r["metadata"]["name"] for r in results["by_label"]["resources"]] == ["op-node-config"]

    assert results["scaled"]["changed"] and results["scaled"]["result"]["status"]["readyReplicas"] == 3
    assert results["scaled_to_zero"]["changed"] and not results["scaled_to_zero"].get("failed")
    assert "replicas" not in results["scaled_to_zero"]["result"]["status"]  # omitted at zero, as the real API
    assert results["rolled_back"]["changed"]

    assert results["probe_log"]["log"] == "probe line 2\nprobe line 3\n"
    assert results["probe_exec"]["rc"] == 0 and results["probe_exec"]["stdout"] == "op-node --version: v1.9.0\n"
    assert results["removed"]["changed"]

    apps = client.AppsV1Api(api)
    rolled = wait_for(
        "rollback rolled out",
        lambda: (
            (d := apps.read_namespaced_deployment("op-node", NAMESPACE))
            and d.spec.template.spec.containers[0].image == "op-node:v1"
            and d
        ),
    )
    assert rolled.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    assert core.list_namespaced_config_map(NAMESPACE, label_selector="tier=node").items == []
