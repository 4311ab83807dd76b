"""meta.k8s.io/v1 Table responses, so `kubectl get` prints the columns it prints against a real cluster."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from jeju_lab.kube_double.resources import ResourceType

Obj = dict[str, Any]
Column = tuple[str, str, Callable[[Obj, float], Any]]


def human_age(created: str | None, now: float) -> str:
    """kubectl's short durations: 45s, 5m12s, 3h20m, 2d4h, 40d."""
    if not created:
        return "<unknown>"
    seconds = int(now - datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
    seconds = max(seconds, 0)
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    return f"{days}d{hours % 24}h" if days < 8 and hours % 24 else f"{days}d"


def _age(obj: Obj, now: float) -> str:
    return human_age(obj["metadata"].get("creationTimestamp"), now)


def _status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def _pod_status_text(pod: Obj) -> str:
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    for container in _status(pod).get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") and waiting["reason"] != "ContainerCreating":
            return str(waiting["reason"])
        if waiting.get("reason") == "ContainerCreating" and _status(pod).get("phase") == "Pending":
            return "ContainerCreating"
    return str(_status(pod).get("reason") or _status(pod).get("phase") or "Pending")


def _pod_ready(pod: Obj) -> str:
    statuses = _status(pod).get("containerStatuses") or []
    total = len(pod["spec"].get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _restarts(pod: Obj) -> int:
    return sum(int(s.get("restartCount", 0)) for s in _status(pod).get("containerStatuses") or [])


def _node_status(node: Obj) -> str:
    ready = next((c for c in _status(node).get("conditions") or [] if c["type"] == "Ready"), None)
    text = "Ready" if ready and ready["status"] == "True" else "NotReady"
    return text + (",SchedulingDisabled" if node["spec"].get("unschedulable") else "")


def _involved(event: Obj) -> str:
    involved = event.get("involvedObject") or {}
    return f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}"


def _ports(service: Obj) -> str:
    ports = service.get("spec", {}).get("ports") or []
    return ",".join(f"{p['port']}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


COLUMNS: dict[str, list[Column]] = {
    "Pod": [
        ("Ready", "string", lambda o, n: _pod_ready(o)),
        ("Status", "string", lambda o, n: _pod_status_text(o)),
        ("Restarts", "string", lambda o, n: str(_restarts(o))),
        ("Age", "string", _age),
        ("IP", "string", lambda o, n: _status(o).get("podIP", "<none>")),
        ("Node", "string", lambda o, n: o["spec"].get("nodeName", "<none>")),
    ],
    "Deployment": [
        ("Ready", "string", lambda o, n: f"{_status(o).get('readyReplicas', 0)}/{o['spec'].get('replicas', 1)}"),
        ("Up-to-date", "integer", lambda o, n: _status(o).get("updatedReplicas", 0)),
        ("Available", "integer", lambda o, n: _status(o).get("availableReplicas", 0)),
        ("Age", "string", _age),
    ],
    "ReplicaSet": [
        ("Desired", "integer", lambda o, n: o["spec"].get("replicas", 1)),
        ("Current", "integer", lambda o, n: _status(o).get("replicas", 0)),
        ("Ready", "integer", lambda o, n: _status(o).get("readyReplicas", 0)),
        ("Age", "string", _age),
    ],
    "Node": [
        ("Status", "string", lambda o, n: _node_status(o)),
        ("Roles", "string", lambda o, n: "<none>"),
        ("Age", "string", _age),
        ("Version", "string", lambda o, n: _status(o).get("nodeInfo", {}).get("kubeletVersion", "")),
    ],
    "Service": [
        ("Type", "string", lambda o, n: o["spec"].get("type", "ClusterIP")),
        ("Cluster-IP", "string", lambda o, n: o["spec"].get("clusterIP", "<none>")),
        ("Port(s)", "string", lambda o, n: _ports(o)),
        ("Age", "string", _age),
    ],
    "Namespace": [("Status", "string", lambda o, n: _status(o).get("phase", "Active")), ("Age", "string", _age)],
    "Event": [
        ("Type", "string", lambda o, n: o.get("type", "")),
        ("Reason", "string", lambda o, n: o.get("reason", "")),
        ("Object", "string", lambda o, n: _involved(o)),
        ("Message", "string", lambda o, n: o.get("message", "")),
    ],
    "PersistentVolumeClaim": [
        ("Status", "string", lambda o, n: _status(o).get("phase", "Pending")),
        ("Capacity", "string", lambda o, n: _status(o).get("capacity", {}).get("storage", "")),
        ("Age", "string", _age),
    ],
}
_PRIORITY_ONE = {"IP", "Node"}


def _partial(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def as_table(rt: ResourceType, objects: list[Obj], resource_version: str, now: float, include: str) -> Obj:
    columns = COLUMNS.get(rt.kind, [("Age", "string", _age)])
    definitions = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    definitions += [
        {"name": name, "type": kind, "format": "", "description": name, "priority": 1 if name in _PRIORITY_ONE else 0}
        for name, kind, _ in columns
    ]
    rows = [
        {
            "cells": [obj["metadata"]["name"], *[fn(obj, now) for _, _, fn in columns]],
            "object": obj if include == "Object" else _partial(obj),
        }
        for obj in objects
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    }


def wants_table(accept: str) -> bool:
    return "as=Table" in accept
