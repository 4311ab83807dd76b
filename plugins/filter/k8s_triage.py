# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filters for the k8s_triage role: what an on-call engineer reads about one Deployment.

    {{ k8s_triage_objects | jeju.ops.k8s_triage_summary('op-node', 'app.kubernetes.io/name', k8s_log_result) }}

k8s_triage_objects maps a kind (Deployment, Pod, Node, PersistentVolumeClaim, Event, VolumeSnapshot) to the
objects the kubernetes.core.k8s lookup returned for it. The summary: deployment (name, found, replicas,
ready_replicas, resource_version, container, image, env, memory_limit, liveness_probe, claims, volumes: volume
name -> claim), pods (each with `unschedulable`: the scheduler's message when no node takes it), ready_pods, nodes
(name, ready, cordoned), not_ready_nodes, cordoned_nodes, stranded_pods (any pod on a NotReady node), pvcs (the
Deployment's), snapshots (of those PVCs and of the PVCs they replaced by a restore, newest first), events (the
Deployment's, its pods' and the nodes', last 20), logs (lines), log_pod, exec_pod (a pod whose container runs,
Ready ones first: where kubectl exec works; '' when none) and errors.
k8s_log_result is what the jeju.ops.k8s_log lookup (or kubernetes.core.k8s_log, registered) returned: its
`log`, the `msg` of why there is none, or `skipped`; or the log text itself.

    {{ k8s_triage_objects.Pod | jeju.ops.k8s_log_pod('op-node', 'app.kubernetes.io/name') }}

the pod whose logs `kubectl logs deployment/NAME` would show: Ready first, then Running, then the newest.

    {{ k8s_triage_objects | jeju.ops.k8s_triage_components({'op_node': 'op-node', 'reth': 'reth'}, label, logs) }}

several Deployments of one read (the role's `components` entry point): a summary each, with its key and name.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

EVENTS_KEPT = 20
# Set by workload_change's restore_pvc on the PVC it creates: the claim the restored one replaces.
REPLACES_ANNOTATION = "jeju.network/replaces"


def _ready(conditions):
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions or [])


def _meta(obj):
    return obj.get("metadata") or {}


def _container(deployment, name):
    containers = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    named = [c for c in containers if c.get("name") == name]
    return (named or containers or [{}])[0]


def _deployment(deployment, name):
    container = _container(deployment, name)
    volumes = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("volumes") or []
    return {
        "name": _meta(deployment).get("name", name),
        "found": bool(deployment),
        "replicas": deployment.get("spec", {}).get("replicas", 0),
        "ready_replicas": (deployment.get("status") or {}).get("readyReplicas", 0) or 0,
        "resource_version": _meta(deployment).get("resourceVersion", ""),
        "container": container.get("name", ""),
        "image": container.get("image", ""),
        "env": {e["name"]: e.get("value", "") for e in container.get("env") or [] if "name" in e},
        "memory_limit": (container.get("resources") or {}).get("limits", {}).get("memory", ""),
        "liveness_probe": container.get("livenessProbe") or {},
        "claims": [v["persistentVolumeClaim"]["claimName"] for v in volumes if "persistentVolumeClaim" in v],
        "volumes": {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in volumes
                    if "persistentVolumeClaim" in v and "name" in v},
    }


def _pod(pod, node_ready):
    status = pod.get("status") or {}
    container = (status.get("containerStatuses") or [{}])[0]
    waiting = (container.get("state") or {}).get("waiting") or {}
    terminated = (container.get("lastState") or {}).get("terminated") or {}
    node = (pod.get("spec") or {}).get("nodeName") or ""
    return {
        "name": _meta(pod)["name"],
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
        "created": _meta(pod).get("creationTimestamp", ""),
        "deleting": bool(_meta(pod).get("deletionTimestamp")),
        "unschedulable": _unschedulable(status),
        "labels": dict(_meta(pod).get("labels") or {}),
    }


def _unschedulable(status):
    """The scheduler's message for a pod no node takes (PodScheduled False, reason Unschedulable); '' otherwise."""
    for condition in status.get("conditions") or []:
        if (condition.get("type") == "PodScheduled" and condition.get("status") == "False"
                and condition.get("reason") == "Unschedulable"):
            return condition.get("message") or "Unschedulable"
    return ""


def _snapshot(snapshot):
    status = snapshot.get("status") or {}
    return {"name": _meta(snapshot)["name"],
            "pvc": (snapshot.get("spec") or {}).get("source", {}).get("persistentVolumeClaimName", ""),
            "created": status.get("creationTime", ""),
            "ready": bool(status.get("readyToUse"))}


def _event(event):
    involved = event.get("involvedObject") or {}
    return {
        "time": event.get("lastTimestamp") or event.get("eventTime") or _meta(event).get("creationTimestamp", ""),
        "type": event.get("type", ""),
        "reason": event.get("reason", ""),
        "object": f"{involved.get('kind', '')}/{involved.get('name', '')}",
        "message": event.get("message", ""),
    }


def _owned_by(pod, deployment, app_label):
    return (_meta(pod).get("labels") or {}).get(app_label) == deployment


def k8s_log_pod(pods, deployment, app_label):
    """The pod `kubectl logs deployment/NAME` reads: Ready, then Running, then the newest; '' when none."""
    candidates = [p for p in pods or [] if _owned_by(p, deployment, app_label)]
    if not candidates:
        return ""
    ranked = sorted(candidates, key=lambda p: (
        _ready((p.get("status") or {}).get("conditions")),
        (p.get("status") or {}).get("phase") == "Running",
        _meta(p).get("creationTimestamp", ""),
    ), reverse=True)
    return _meta(ranked[0])["name"]


def _log_text(log_result, pod):
    """(text, error) from the k8s_log lookup's or module's result (or a plain string)."""
    if isinstance(log_result, str):
        return log_result, ""
    result = log_result or {}
    if "log" in result:
        return str(result["log"] or ""), ""
    if result.get("skipped") or not result:
        return "", ("" if not pod else f"logs of {pod}: not read")
    return "", f"logs of {pod}: {result.get('msg', 'no answer')}"


def k8s_triage_summary(objects, deployment, app_label, log_result=None):
    """Summarize the Deployment `deployment` and what surrounds it, from the objects read kind by kind."""
    objects = objects or {}
    log_pod = k8s_log_pod(objects.get("Pod") or [], deployment, app_label)
    log_text, log_error = _log_text(log_result, log_pod)
    found = [d for d in objects.get("Deployment") or [] if _meta(d).get("name") == deployment]
    summary_deployment = _deployment(found[0] if found else {}, deployment)
    nodes = {_meta(n)["name"]: _ready((n.get("status") or {}).get("conditions")) for n in objects.get("Node") or []}
    cordoned = {_meta(n)["name"] for n in objects.get("Node") or [] if (n.get("spec") or {}).get("unschedulable")}
    all_pods = objects.get("Pod") or []
    pods = [_pod(p, nodes) for p in all_pods if _owned_by(p, deployment, app_label)]
    pod_names = {p["name"] for p in pods}
    stranded = [_pod(p, nodes) for p in all_pods
                if (p.get("spec") or {}).get("nodeName") and not nodes.get(p["spec"]["nodeName"], True)]
    claims = set(summary_deployment["claims"])
    pvcs = [{"name": _meta(c)["name"], "uid": _meta(c).get("uid", ""),
             "phase": (c.get("status") or {}).get("phase", ""),
             "capacity": (c.get("status") or {}).get("capacity", {}).get("storage", ""),
             "data_source": ((c.get("spec") or {}).get("dataSource") or {}).get("name", ""),
             "replaces": (_meta(c).get("annotations") or {}).get(REPLACES_ANNOTATION, "")}
            for c in objects.get("PersistentVolumeClaim") or [] if _meta(c).get("name") in claims]
    # A claim restored from a snapshot keeps its lineage: the snapshots of the claim it replaced are its own.
    lineage = claims | {p["replaces"] for p in pvcs if p["replaces"]}
    snapshots = sorted((_snapshot(s) for s in objects.get("VolumeSnapshot") or []),
                       key=lambda s: s["created"], reverse=True)
    related = [e for e in objects.get("Event") or []
               if (e.get("involvedObject") or {}).get("name", "").startswith(deployment)
               or (e.get("involvedObject") or {}).get("name") in pod_names
               or (e.get("involvedObject") or {}).get("kind") == "Node"]
    events = sorted((_event(e) for e in related), key=lambda e: e["time"])[-EVENTS_KEPT:]
    return {
        "deployment": summary_deployment,
        "pods": pods,
        "ready_pods": sum(1 for p in pods if p["ready"]),
        "nodes": [{"name": n, "ready": r, "cordoned": n in cordoned} for n, r in sorted(nodes.items())],
        "not_ready_nodes": sorted(n for n, r in nodes.items() if not r),
        "cordoned_nodes": sorted(cordoned),
        "stranded_pods": [{"name": p["name"], "node": p["node"], "phase": p["phase"]} for p in stranded],
        "pvcs": pvcs,
        "snapshots": [s for s in snapshots if s["pvc"] in lineage],
        "events": events,
        "logs": [line for line in log_text.splitlines() if line.strip()],
        "log_pod": log_pod,
        # kubectl exec works in a running container, Ready or not (not in one waiting to restart)
        "exec_pod": next((p["name"] for p in sorted(pods, key=lambda p: not p["ready"])
                          if p["phase"] == "Running" and not p["waiting_reason"] and not p["deleting"]), ""),
        "errors": [log_error] if log_error else [],
    }


def k8s_log_pods(pods, deployments, app_label):
    """k8s_log_pod for each Deployment of `deployments`, in order (one jeju.ops.k8s_log query reads them all)."""
    return [k8s_log_pod(pods, deployment, app_label) for deployment in deployments or []]


def k8s_triage_components(objects, components, app_label, log_results):
    """k8s_triage_summary for several Deployments read at once: `components` maps a key (jeju_deployments') to the
    Deployment's name, `log_results` holds one jeju.ops.k8s_log answer per component, in the same order. Returns
    one summary per component, in order, each with its `key` and `name` too."""
    items = list((components or {}).items())
    logs = list(log_results or [])
    if len(logs) != len(items):
        raise AnsibleFilterError(f"k8s_triage_components: {len(items)} components but {len(logs)} log answers")
    return [dict(k8s_triage_summary(objects, name, app_label, log), key=key, name=name)
            for (key, name), log in zip(items, logs, strict=True)]


class FilterModule:
    def filters(self):
        return {"k8s_triage_summary": k8s_triage_summary, "k8s_log_pod": k8s_log_pod, "k8s_log_pods": k8s_log_pods,
                "k8s_triage_components": k8s_triage_components}
