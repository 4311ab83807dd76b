"""Defaults the real API server fills in, so round-tripped templates compare equal (kubectl rollout undo).

Also drops null values, as the API server's decoder does, and the empty or false values of the `omitempty`
fields clients test for absence (a Node's `spec.unschedulable` after an uncordon, its `spec.taints` once the last
one is removed); folds a Secret's `stringData` into `data` as the API server does.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

Obj = dict[str, Any]


def prune_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [prune_nulls(v) for v in value]
    return value


def _container_defaults(container: Obj) -> None:
    image = str(container.get("image", ""))
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    container.setdefault("imagePullPolicy", "Always" if tag in ("", "latest") else "IfNotPresent")
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")


# What the DefaultTolerationSeconds admission plugin gives every pod.
DEFAULT_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
)


def pod_spec_defaults(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        _container_defaults(container)


def _template_defaults(spec: Obj) -> None:
    template = spec.get("template")
    if isinstance(template, dict):
        template.setdefault("metadata", {})
        pod_spec_defaults(template.setdefault("spec", {}))


def _pod_admission(spec: Obj) -> None:
    """ServiceAccount and DefaultTolerationSeconds admission: the account's name in both fields, the tolerations."""
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = spec["serviceAccount"] = account
    tolerations = spec.setdefault("tolerations", [])
    for default in DEFAULT_TOLERATIONS:
        if not any(t.get("key") == default["key"] and t.get("effect", default["effect"]) == default["effect"]
                   for t in tolerations):
            tolerations.append(dict(default))


def _workload_defaults(kind: str, spec: Obj) -> None:
    if kind == "StatefulSet":
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("revisionHistoryLimit", 10)
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy.setdefault("type", "RollingUpdate")
            strategy.setdefault("rollingUpdate", {"partition": 0})
        spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
        _template_defaults(spec)
    elif kind == "DaemonSet":
        spec.setdefault("revisionHistoryLimit", 10)
        strategy = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy.setdefault("type", "RollingUpdate")
            strategy.setdefault("rollingUpdate", {"maxUnavailable": 1, "maxSurge": 0})
        _template_defaults(spec)
    elif kind == "Job":
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        _template_defaults(spec)
    elif kind == "CronJob":
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)


# (kind or "*", path) of the `omitempty` fields whose empty or false value the API server does not store.
_OMIT_EMPTY = (
    ("*", ("metadata", "labels")),
    ("*", ("metadata", "annotations")),
    ("*", ("metadata", "finalizers")),
    ("*", ("metadata", "ownerReferences")),
    ("Node", ("spec", "unschedulable")),
    ("Node", ("spec", "taints")),
    ("Deployment", ("spec", "paused")),
    ("ConfigMap", ("data",)),
    ("ConfigMap", ("binaryData",)),
    ("Secret", ("data",)),
)


def _drop_empty(obj: Obj, path: tuple[str, ...]) -> None:
    parent: Any = obj
    for key in path[:-1]:
        parent = parent.get(key) if isinstance(parent, dict) else None
    if isinstance(parent, dict) and path[-1] in parent and parent[path[-1]] in ({}, [], False, ""):
        del parent[path[-1]]


def normalize(kind: str, obj: Obj) -> Obj:
    """What the API server stores for what it was sent (in place): Secret stringData folded into data, empty
    omitempty fields dropped."""
    if kind == "Secret":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None) or {}
        if string_data:
            data = obj.setdefault("data", {}) or {}
            obj["data"] = data
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
    for only, path in _OMIT_EMPTY:
        if only in ("*", kind):
            _drop_empty(obj, path)
    return obj


def _cluster_ip(obj: Obj) -> str:
    digest = hashlib.sha256(f"{obj['metadata'].get('namespace')}/{obj['metadata'].get('name')}".encode()).digest()
    return f"10.96.{digest[0]}.{max(digest[1], 2)}"


def apply_defaults(kind: str, obj: Obj) -> Obj:
    """Fill in defaults in place (and return the object)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return obj
    if kind == "Deployment":
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy.setdefault("type", "RollingUpdate")
            strategy.setdefault("rollingUpdate", {"maxSurge": "25%", "maxUnavailable": "25%"})
        _template_defaults(spec)
    elif kind == "ReplicaSet":
        spec.setdefault("replicas", 1)
        _template_defaults(spec)
    elif kind == "Pod":
        pod_spec_defaults(spec)
        _pod_admission(spec)
        obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
    elif kind in ("StatefulSet", "DaemonSet", "Job", "CronJob"):
        _workload_defaults(kind, spec)
    elif kind == "Service":
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName":
            spec.setdefault("clusterIP", _cluster_ip(obj))
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
    return obj
