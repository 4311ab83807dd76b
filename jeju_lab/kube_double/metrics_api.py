"""metrics.k8s.io/v1beta1 PodMetrics and NodeMetrics, computed from the metrics hook (for `kubectl top`)."""

from __future__ import annotations

from typing import Any

from jeju_lab.kube_double.api_errors import not_found
from jeju_lab.kube_double.cluster import Cluster
from jeju_lab.kube_double.hooks import ContainerUsage
from jeju_lab.kube_double.resources import NODE, NODE_METRICS, POD, POD_METRICS
from jeju_lab.kube_double.routing import Target
from jeju_lab.kube_double.selectors import labels_match, parse_label_selector

Obj = dict[str, Any]
BASE_NODE_USAGE = ContainerUsage(cpu_millicores=150, memory_bytes=1024 * 1024 * 1024)


def _quantities(usage: ContainerUsage) -> Obj:
    return {"cpu": f"{usage.cpu_millicores * 1_000_000}n", "memory": f"{usage.memory_bytes // 1024}Ki"}


def _usages(cluster: Cluster, pod: Obj) -> list[tuple[str, ContainerUsage]]:
    if (pod.get("status") or {}).get("phase") != "Running":
        return []
    found = []
    for container in pod["spec"].get("containers") or []:
        usage = cluster.container_usage(pod, container["name"])
        if usage is not None:
            found.append((container["name"], usage))
    return found


def _pod_metrics(cluster: Cluster, pod: Obj) -> Obj | None:
    usages = _usages(cluster, pod)
    if not usages:
        return None
    meta = pod["metadata"]
    return {
        "kind": "PodMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta["namespace"],
            "labels": meta.get("labels") or {},
            "creationTimestamp": cluster.store.now(),
        },
        "timestamp": cluster.store.now(),
        "window": "30s",
        "containers": [{"name": name, "usage": _quantities(usage)} for name, usage in usages],
    }


def _node_metrics(cluster: Cluster, node: Obj) -> Obj:
    name = node["metadata"]["name"]
    cpu, memory = BASE_NODE_USAGE.cpu_millicores, BASE_NODE_USAGE.memory_bytes
    for pod in cluster.store.scan(POD):
        if pod["spec"].get("nodeName") == name:
            for _, usage in _usages(cluster, pod):
                cpu, memory = cpu + usage.cpu_millicores, memory + usage.memory_bytes
    return {
        "kind": "NodeMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {
            "name": name,
            "labels": node["metadata"].get("labels") or {},
            "creationTimestamp": cluster.store.now(),
        },
        "timestamp": cluster.store.now(),
        "window": "30s",
        "usage": _quantities(ContainerUsage(cpu, memory)),
    }


def metrics(cluster: Cluster, target: Target, label_selector: str | None) -> Obj:
    """The metrics object (name given) or list for a metrics.k8s.io request."""
    labels = parse_label_selector(label_selector)
    if target.rt is POD_METRICS:
        pods = [p for p in cluster.store.scan(POD, target.namespace) if labels_match(labels, p)]
        if target.name is not None:
            pods = [p for p in pods if p["metadata"]["name"] == target.name]
        items = [m for m in (_pod_metrics(cluster, p) for p in pods) if m is not None]
    else:
        nodes = [n for n in cluster.store.scan(NODE) if labels_match(labels, n)]
        if target.name is not None:
            nodes = [n for n in nodes if n["metadata"]["name"] == target.name]
        items = [_node_metrics(cluster, n) for n in nodes]
    if target.name is not None:
        if not items:
            raise not_found(target.rt, target.name)
        return items[0]
    kind = "PodMetricsList" if target.rt is POD_METRICS else "NodeMetricsList"
    items.sort(key=lambda m: (m["metadata"].get("namespace", ""), m["metadata"]["name"]))
    return {"kind": kind, "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": items}


__all__ = ["NODE_METRICS", "POD_METRICS", "metrics"]
