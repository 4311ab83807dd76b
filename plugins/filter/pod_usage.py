# -*- coding: utf-8 -*-
"""Filter pod_usage: `kubectl top pods` against the containers' limits, as percentages.

    {{ pods_listing.items | jeju.ops.pod_usage(pod_metrics.items) }}
    {{ lookup('jeju.ops.k8s_read', {'Pod': 'v1', 'PodMetrics': 'metrics.k8s.io/v1beta1'}).objects
       | jeju.ops.pod_usage }}

One entry per container that has metrics: namespace, pod, app (label app.kubernetes.io/name), container,
cpu_millicores, cpu_limit_millicores, cpu_percent, memory_bytes, memory_limit_bytes, memory_percent
(percent is null when the container has no limit).

    {{ df_h_output | jeju.ops.df_usage }}

`df -h` output -> one entry per filesystem: filesystem, size, used, avail, percent (int), mount.

    {{ usage | jeju.ops.resources_above(disks, jeju_thresholds.resource_percent) }}

What is above the threshold, one label each ("POD cpu", "POD memory", "disk MOUNT").
"""

from __future__ import annotations

from ansible_collections.jeju.ops.plugins.filter.k8s_units import k8s_bytes, k8s_millicores

APP_LABEL = "app.kubernetes.io/name"


def cpu_millicores(quantity):
    """A Kubernetes CPU quantity ("3900m", "120000000n", "4") -> millicores."""
    return k8s_millicores(quantity)


def memory_bytes(quantity):
    """A Kubernetes memory quantity ("8Gi", "262144Ki", "1G", "1048576") -> bytes."""
    return k8s_bytes(quantity)


def _percent(used, limit):
    return round(100.0 * used / limit, 1) if limit else None


def _limits(pod):
    containers = pod.get("spec", {}).get("containers", [])
    return {c.get("name"): c.get("resources", {}).get("limits", {}) for c in containers}


def pod_usage(pods, metrics=None):
    """Join pods (their limits) and PodMetrics (their usage) by namespace and pod name.

    pods may be jeju.ops.k8s_read's objects, with both lists (Pod and PodMetrics), and metrics left out."""
    if isinstance(pods, dict) and metrics is None:
        pods, metrics = pods.get("Pod"), pods.get("PodMetrics")
    by_name = {(p["metadata"].get("namespace"), p["metadata"]["name"]): p for p in pods or []}
    usage = []
    for item in metrics or []:
        meta = item.get("metadata", {})
        pod = by_name.get((meta.get("namespace"), meta.get("name")), {})
        limits = _limits(pod) if pod else {}
        for container in item.get("containers", []):
            limit = limits.get(container.get("name"), {})
            cpu = cpu_millicores(container.get("usage", {}).get("cpu", "0"))
            memory = memory_bytes(container.get("usage", {}).get("memory", "0"))
            cpu_limit = cpu_millicores(limit["cpu"]) if "cpu" in limit else None
            memory_limit = memory_bytes(limit["memory"]) if "memory" in limit else None
            usage.append({
                "namespace": meta.get("namespace", ""),
                "pod": meta.get("name", ""),
                "app": (pod.get("metadata", {}).get("labels") or meta.get("labels") or {}).get(APP_LABEL, ""),
                "container": container.get("name", ""),
                "cpu_millicores": round(cpu),
                "cpu_limit_millicores": round(cpu_limit) if cpu_limit else None,
                "cpu_percent": _percent(cpu, cpu_limit),
                "memory_bytes": memory,
                "memory_limit_bytes": memory_limit,
                "memory_percent": _percent(memory, memory_limit),
            })
    return usage


def df_usage(text):
    """Parse `df -h` (header line first); lines that are not six columns with a Use% are skipped."""
    rows = []
    for line in str(text or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 6 and fields[4].endswith("%") and fields[4][:-1].isdigit():
            rows.append({"filesystem": fields[0], "size": fields[1], "used": fields[2], "avail": fields[3],
                         "percent": int(fields[4][:-1]), "mount": " ".join(fields[5:])})
    return rows


def hot(usage, key, limit):
    return [u for u in usage if isinstance(u.get(key), (int, float)) and u[key] > limit]


def resources_above(usage, disks, limit):
    limit = float(limit)
    return ([f"{u['pod']} cpu" for u in hot(usage or [], "cpu_percent", limit)]
            + [f"{u['pod']} memory" for u in hot(usage or [], "memory_percent", limit)]
            + [f"disk {d['mount']}" for d in disks or [] if d.get("percent", 0) > limit])


class FilterModule:
    def filters(self):
        return {"pod_usage": pod_usage, "df_usage": df_usage, "resources_above": resources_above}
