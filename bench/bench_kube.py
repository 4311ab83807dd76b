"""Time gets, lists and patches through the kubernetes Python client against the lab API double.

    .venv/bin/python bench/bench_kube.py [N]

Starts the double on loopback with a Deployment of 3 pods and 50 ConfigMaps, then prints median and p95
milliseconds per operation. Bounded: N requests per operation (default 300), loopback only.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness import Figure, save
from kubernetes import client, config

from jeju_lab.kube_double import Cluster, ThreadedKubeServer, write_kubeconfig

NAMESPACE = "op-stack"


def _seed(cluster: Cluster) -> None:
    cluster.ensure_namespace(NAMESPACE)
    labels = {"app": "op-node"}
    cluster.create(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "op-node", "namespace": NAMESPACE, "labels": labels},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "op-node", "image": "op-node:v1"}]},
                },
            },
        }
    )
    for number in range(50):
        cluster.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm-{number}", "namespace": NAMESPACE, "labels": {"n": str(number % 5)}},
                "data": {"value": str(number)},
            }
        )


FIGURES: list[Figure] = []


def _time(label: str, count: int, operation: Callable[[int], object]) -> None:
    samples = []
    for number in range(count):
        start = time.perf_counter()
        operation(number)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"{label:<34} n={count:<5} median={statistics.median(samples):6.2f} ms  p95={p95:6.2f} ms")
    FIGURES.append(Figure("Kubernetes API double alone", label, "ms", samples))


def main(count: int) -> None:
    with ThreadedKubeServer(Cluster()) as lab, tempfile.TemporaryDirectory() as folder:
        lab.call(_seed, lab.cluster)
        kubeconfig = write_kubeconfig(Path(folder) / "kubeconfig", lab.url)
        api = config.new_client_from_config(str(kubeconfig))
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        time.sleep(0.5)  # let the pods start
        _time("get deployment", count, lambda n: apps.read_namespaced_deployment("op-node", NAMESPACE))
        _time(
            "list pods (label selector)",
            count,
            lambda n: core.list_namespaced_pod(NAMESPACE, label_selector="app=op-node"),
        )
        _time("list 50 configmaps", count, lambda n: core.list_namespaced_config_map(NAMESPACE))
        _time(
            "patch configmap (strategic)",
            count,
            lambda n: core.patch_namespaced_config_map("cm-1", NAMESPACE, {"data": {"n": str(n)}}),
        )
        _time(
            "patch deployment (merge, no-op)",
            count,
            lambda n: apps.patch_namespaced_deployment("op-node", NAMESPACE, {"metadata": {"labels": {"x": "1"}}}),
        )
        api.close()
    save("bench_kube", FIGURES)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
