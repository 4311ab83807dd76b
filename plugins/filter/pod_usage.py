# -*- coding: utf-8 -*-
"""Filter pod_usage: `kubectl top pods` against the containers' limits, as percentages.

    {{ pods_listing.items | jeju.ops.pod_usage(pod_metrics.items) }}

One entry per container that has metrics: namespace, pod, app (label app.kubernetes.io/name), container,
cpu_millicores, cpu_limit_millicores, cpu_percent, memory_bytes, memory_limit_bytes, memory_percent
(percent is null when the container has no limit).

    {{ df_h_output | jeju.ops.df_usage }}

`df -h` output -> one entry per filesystem: filesystem, size, used, avail, percent (int), mount.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

APP_LABEL = "app.kubernetes.io/name"
CPU_SUFFIXES = {"n": 1e-6, "u": 1e-3, "m": 1.0}
MEMORY_SUFFIXES = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4,
                   "k": 1000, "K": 1000, "M": 10**6, "G": 10**9, "T": 10**12}


def cpu_millicores(quantity):
    """A Kubernetes CPU quantity ("3900m", "120000000n", "4") -> millicores."""
    text = str(quantity).strip()
    try:
        for suffix, factor in CPU_SUFFIXES.items():
            if text.endswith(suffix):
                return float(text[: -len(suffix)]) * factor
        return float(text) * 1000
    except ValueError:
        raise AnsibleFilterError(f"pod_usage: '{quantity}' is not a CPU quantity (e.g. 500m)") from None


def memory_bytes(quantity):
    """A Kubernetes memory quantity ("8Gi", "262144Ki", "1G", "1048576") -> bytes."""
    text = str(quantity).strip()
    try:
        for suffix in sorted(MEMORY_SUFFIXES, key=len, reverse=True):
            if text.endswith(suffix):
                return int(float(text[: -len(suffix)]) * MEMORY_SUFFIXES[suffix])
        return int(float(text))
    except ValueError:
        raise AnsibleFilterError(f"pod_usage: '{quantity}' is not a memory quantity (e.g. 8Gi)") from None


def _percent(used, limit):
    return round(100.0 * used / limit, 1) if limit else None


def _limits(pod):
    containers = pod.get("spec", {}).get("containers", [])
    return {c.get("name"): c.get("resources", {}).get("limits", {}) for c in containers}


def pod_usage(pods, metrics):
    """Join pods (their limits) and PodMetrics (their usage) by namespace and pod name."""
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


class FilterModule:
    def filters(self):
        return {"pod_usage": pod_usage, "df_usage": df_usage}
