"""Pod construction and the status a kubelet would report, from node state and the health hook."""

from __future__ import annotations

import hashlib
from typing import Any

from jeju_lab.kube_double.hooks import PodHealth
from jeju_lab.kube_double.patching import clone

Obj = dict[str, Any]


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def pod_ip(uid: str) -> str:
    digest = bytes.fromhex(_digest(uid)[:4])
    return f"10.244.{digest[0]}.{max(digest[1], 2)}"


def pod_from_template(owner: Obj, name: str, node: str | None) -> Obj:
    """A pod for a ReplicaSet (owner) from its template, bound to `node` when one is Ready."""
    template = clone(owner["spec"].get("template") or {})
    meta = template.get("metadata") or {}
    pod_meta = {
        "name": name,
        "namespace": owner["metadata"]["namespace"],
        "labels": meta.get("labels") or {},
        "ownerReferences": [
            {
                "apiVersion": owner["apiVersion"],
                "kind": owner["kind"],
                "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    if meta.get("annotations"):
        pod_meta["annotations"] = meta["annotations"]
    spec = template.get("spec") or {}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec, "status": pending_status(None)}


def _condition(kind: str, ok: bool, now: str, reason: str | None = None, message: str | None = None) -> Obj:
    condition: Obj = {"type": kind, "status": "True" if ok else "False", "lastTransitionTime": now}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def pending_status(now: str | None, unschedulable: str | None = None) -> Obj:
    status: Obj = {"phase": "Pending", "qosClass": "BestEffort"}
    if now is not None:
        status["conditions"] = [
            _condition(
                "PodScheduled", unschedulable is None, now, "Unschedulable" if unschedulable else None, unschedulable
            )
        ]
    return status


def _container_status(container: Obj, pod: Obj, old: Obj, health: PodHealth | None, running: bool) -> Obj:
    name, image = container["name"], container.get("image", "")
    status: Obj = {
        "name": name,
        "image": image,
        "imageID": f"{image.split(':')[0]}@sha256:{_digest(image)}",
        "containerID": f"containerd://{_digest(pod['metadata']['uid'], name)}",
        "restartCount": old.get("restartCount", 0),
        "lastState": old.get("lastState", {}),
    }
    started_at = (pod.get("status") or {}).get("startTime") or pod["metadata"]["creationTimestamp"]
    if not running:
        status.update(ready=False, started=False, state={"waiting": {"reason": "ContainerCreating"}})
        return status
    applies = health is not None and health.applies_to(name)
    if health is not None and applies:
        if health.restart_count is not None:
            status["restartCount"] = health.restart_count
        if health.last_terminated_reason:
            exit_code = health.last_exit_code
            if exit_code is None:
                exit_code = 137 if health.last_terminated_reason == "OOMKilled" else 1
            status["lastState"] = {
                "terminated": {
                    "exitCode": exit_code,
                    "reason": health.last_terminated_reason,
                    "startedAt": started_at,
                    "finishedAt": started_at,
                    "containerID": status["containerID"],
                }
            }
        if health.waiting_reason:
            waiting = {"reason": health.waiting_reason}
            if health.waiting_message:
                waiting["message"] = health.waiting_message
            status.update(ready=False, started=False, state={"waiting": waiting})
            return status
    status.update(
        ready=health.ready if health is not None and applies else True,
        started=True,
        state={"running": {"startedAt": started_at}},
    )
    return status


def kubelet_status(pod: Obj, now: str, *, node_ready: bool, started: bool, health: PodHealth | None) -> Obj:
    """The status a kubelet would post: Pending until started, then Running (or what the hook says)."""
    old = pod.get("status") or {}
    old_containers = {c["name"]: c for c in old.get("containerStatuses") or []}
    running = started and node_ready
    statuses = [
        _container_status(c, pod, old_containers.get(c["name"], {}), health, running)
        for c in pod["spec"].get("containers") or []
    ]
    if not node_ready and started:
        phase = "Unknown"
    elif not running:
        phase = "Pending"
    else:
        phase = health.phase if health is not None else "Running"
    ready = running and phase == "Running" and all(s["ready"] for s in statuses)
    status: Obj = {
        "phase": phase,
        "conditions": [
            _condition("Initialized", True, now),
            _condition("Ready", ready, now, None if ready else "ContainersNotReady"),
            _condition("ContainersReady", ready, now, None if ready else "ContainersNotReady"),
            _condition("PodScheduled", True, now),
        ],
        "hostIP": old.get("hostIP", ""),
        "podIP": pod_ip(pod["metadata"]["uid"]),
        "startTime": old.get("startTime") or now,
        "containerStatuses": statuses,
        "qosClass": old.get("qosClass", "BestEffort"),
    }
    if status["hostIP"] == "":
        status.pop("hostIP")
    if phase == "Unknown":
        status["reason"] = "NodeLost"
        node, name = pod["spec"].get("nodeName"), pod["metadata"]["name"]
        status["message"] = f"Node {node} which was running pod {name} is unresponsive"
    return keep_transition_times(old, status)


def keep_transition_times(old: Obj, new: Obj) -> Obj:
    """Conditions whose status did not change keep their lastTransitionTime (so no-op writes stay no-ops)."""
    previous = {c["type"]: c for c in old.get("conditions") or []}
    for condition in new.get("conditions") or []:
        before = previous.get(condition["type"])
        if before is not None and before.get("status") == condition["status"]:
            for stamp in ("lastTransitionTime", "lastUpdateTime"):
                if stamp in before:
                    condition[stamp] = before[stamp]
    return new


def is_ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def controlled_by(obj: Obj, owner: Obj) -> bool:
    uid = owner["metadata"]["uid"]
    return any(r.get("uid") == uid and r.get("controller") for r in obj["metadata"].get("ownerReferences") or [])
