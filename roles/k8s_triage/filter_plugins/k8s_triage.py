# Copyright: Jeju operations. Apache-2.0.
"""k8s_triage_summary: turn one `kubectl get ... -o json` List into the facts an on-call engineer reads."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
EVENTS_KEPT = 20


def _ready(conditions: list[Obj] | None) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions or [])


def _by_kind(items: list[Obj], kind: str) -> list[Obj]:
    return [item for item in items if item.get("kind") == kind]


def _container(deployment: Obj, name: str) -> Obj:
    containers = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    named = [c for c in containers if c.get("name") == name]
    return (named or containers or [{}])[0]


def _deployment(deployment: Obj, name: str) -> Obj:
    container = _container(deployment, name)
    volumes = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("volumes", [])
    return {
        "name": deployment.get("metadata", {}).get("name", name),
        "found": bool(deployment),
        "replicas": deployment.get("spec", {}).get("replicas", 0),
        "ready_replicas": deployment.get("status", {}).get("readyReplicas", 0),
        "resource_version": deployment.get("metadata", {}).get("resourceVersion", ""),
        "container": container.get("name", ""),
        "image": container.get("image", ""),
        "env": {e["name"]: e.get("value", "") for e in container.get("env", []) if "name" in e},
        "memory_limit": container.get("resources", {}).get("limits", {}).get("memory", ""),
        "claims": [v["persistentVolumeClaim"]["claimName"] for v in volumes if "persistentVolumeClaim" in v],
    }


def _pod(pod: Obj, node_ready: dict[str, bool]) -> Obj:
    status = pod.get("status", {})
    container = (status.get("containerStatuses") or [{}])[0]
    waiting = container.get("state", {}).get("waiting", {})
    terminated = container.get("lastState", {}).get("terminated", {})
    node = pod.get("spec", {}).get("nodeName", "")
    return {
        "name": pod["metadata"]["name"],
        "phase": status.get("phase", ""),
        "ready": _ready(status.get("conditions")),
        "reason": status.get("reason", ""),
        "restarts": container.get("restartCount", 0),
        "waiting_reason": waiting.get("reason", ""),
        "waiting_message": waiting.get("message", ""),
        "last_terminated_reason": terminated.get("reason", ""),
        "last_exit_code": terminated.get("exitCode"),
        "node": node,
        "node_ready": node_ready.get(node, False),
        "created": pod["metadata"].get("creationTimestamp", ""),
    }


def _snapshot(snapshot: Obj) -> Obj:
    return {"name": snapshot["metadata"]["name"],
            "pvc": snapshot.get("spec", {}).get("source", {}).get("persistentVolumeClaimName", ""),
            "created": snapshot.get("status", {}).get("creationTime", ""),
            "ready": bool(snapshot.get("status", {}).get("readyToUse"))}


def _event(event: Obj) -> Obj:
    involved = event.get("involvedObject", {})
    return {
        "time": event.get("lastTimestamp") or event.get("eventTime") or event.get("metadata", {}).get(
            "creationTimestamp", ""),
        "type": event.get("type", ""),
        "reason": event.get("reason", ""),
        "object": f"{involved.get('kind', '')}/{involved.get('name', '')}",
        "message": event.get("message", ""),
    }


def k8s_triage_summary(listing: Obj, deployment: str, app_label: str, log_text: str = "") -> Obj:
    """Summarize a List of Deployments, Pods, Nodes, PVCs, Events and VolumeSnapshots around one Deployment."""
    items = listing.get("items", [])
    found = [d for d in _by_kind(items, "Deployment") if d["metadata"]["name"] == deployment]
    summary_deployment = _deployment(found[0] if found else {}, deployment)
    nodes = {n["metadata"]["name"]: _ready(n.get("status", {}).get("conditions")) for n in _by_kind(items, "Node")}
    pods = [_pod(p, nodes) for p in _by_kind(items, "Pod")
            if p.get("metadata", {}).get("labels", {}).get(app_label) == deployment]
    pod_names = {p["name"] for p in pods}
    stranded = [_pod(p, nodes) for p in _by_kind(items, "Pod")
                if p.get("spec", {}).get("nodeName") and not nodes.get(p["spec"]["nodeName"], True)]
    claims = set(summary_deployment["claims"])
    pvcs = [{"name": c["metadata"]["name"], "uid": c["metadata"].get("uid", ""),
             "phase": c.get("status", {}).get("phase", ""),
             "capacity": c.get("status", {}).get("capacity", {}).get("storage", ""),
             "data_source": c.get("spec", {}).get("dataSource", {}).get("name", "")}
            for c in _by_kind(items, "PersistentVolumeClaim") if c["metadata"]["name"] in claims]
    snapshots = sorted((_snapshot(s) for s in _by_kind(items, "VolumeSnapshot")),
                       key=lambda s: s["created"], reverse=True)
    related = [e for e in _by_kind(items, "Event")
               if e.get("involvedObject", {}).get("name", "").startswith(deployment)
               or e.get("involvedObject", {}).get("name") in pod_names
               or e.get("involvedObject", {}).get("kind") == "Node"]
    events = sorted((_event(e) for e in related), key=lambda e: e["time"])[-EVENTS_KEPT:]
    return {
        "deployment": summary_deployment,
        "pods": pods,
        "ready_pods": sum(1 for p in pods if p["ready"]),
        "nodes": [{"name": n, "ready": r} for n, r in sorted(nodes.items())],
        "not_ready_nodes": sorted(n for n, r in nodes.items() if not r),
        "stranded_pods": [{"name": p["name"], "node": p["node"], "phase": p["phase"]} for p in stranded],
        "pvcs": pvcs,
        "snapshots": [s for s in snapshots if s["pvc"] in claims],
        "events": events,
        "logs": [line for line in log_text.splitlines() if line.strip()],
    }


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"k8s_triage_summary": k8s_triage_summary}
