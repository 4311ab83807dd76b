"""The StatefulSet, DaemonSet and Job controllers, with the status fields clients wait on.

- StatefulSet: pods `<name>-<ordinal>` made in order (OrderedReady: the next once the previous is Ready; Parallel:
  all at once), PVCs from volumeClaimTemplates, rolling updates from the highest ordinal down to the partition,
  a ControllerRevision per template; status replicas/readyReplicas/currentReplicas/updatedReplicas and
  currentRevision/updateRevision as kubernetes.core's waiter reads them.
- DaemonSet: one pod per node whose taints the pod tolerates and whose labels match its selector and affinity,
  pinned by node affinity as the real controller does; a cordon does not stop it; rolling updates one node at a
  time; status desired/current/ready/updated/available/misscheduled.
- Job: `parallelism` pods until `completions` succeed (a pod succeeds or fails when the pod health hook says
  so: the lab runs no containers); Complete and Failed (BackoffLimitExceeded) conditions.
Controllers leave an object that is being deleted alone.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from jeju_lab.kube_double.patching import clone, clone_obj
from jeju_lab.kube_double.pods import controlled_by, is_ready, pod_from_template
from jeju_lab.kube_double.resources import CONTROLLER_REVISION, DAEMONSET, JOB, NODE, POD, STATEFULSET, by_kind
from jeju_lab.kube_double.scheduler import affinity_matches, untolerated

if TYPE_CHECKING:
    from jeju_lab.kube_double.controller import Controller

Obj = dict[str, Any]
PVC = by_kind("PersistentVolumeClaim")
REVISION_HASH = "controller-revision-hash"
# What the DaemonSet controller adds to its pods' tolerations.
DAEMON_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)


def _active(pod: Obj) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in (
        "Succeeded", "Failed")


def _owned_pods(ctl: Controller, owner: Obj) -> list[Obj]:
    return [p for p in ctl.store.scan(POD, owner["metadata"]["namespace"]) if controlled_by(p, owner)]


def _owner_ref(owner: Obj) -> Obj:
    meta = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"], "uid": meta["uid"],
            "controller": True, "blockOwnerDeletion": True}


def _drop_zeros(status: Obj, keys: tuple[str, ...]) -> Obj:
    for key in keys:
        if not status.get(key):
            status.pop(key, None)
    return status


def reconcile(ctl: Controller) -> None:
    for stateful_set in ctl.store.scan(STATEFULSET):
        if not stateful_set["metadata"].get("deletionTimestamp"):
            _sync_stateful_set(ctl, stateful_set)
    for daemon_set in ctl.store.scan(DAEMONSET):
        if not daemon_set["metadata"].get("deletionTimestamp"):
            _sync_daemon_set(ctl, daemon_set)
    for job in ctl.store.scan(JOB):
        if not job["metadata"].get("deletionTimestamp"):
            _sync_job(ctl, job)


# -- controller revisions ---------------------------------------------------------------------------------
def _revision(ctl: Controller, owner: Obj) -> str:
    """The name of the ControllerRevision holding the owner's current template (made when new)."""
    from jeju_lab.kube_double.controller import template_hash

    template = owner["spec"].get("template") or {}
    name = f"{owner['metadata']['name']}-{template_hash(template)}"
    namespace = owner["metadata"]["namespace"]
    if ctl.store.peek(CONTROLLER_REVISION, namespace, name) is None:
        history = [r for r in ctl.store.scan(CONTROLLER_REVISION, namespace) if controlled_by(r, owner)]
        number = max((int(r.get("revision", 0)) for r in history), default=0) + 1
        ctl.store.create(CONTROLLER_REVISION, {
            "apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": name, "namespace": namespace, "ownerReferences": [_owner_ref(owner)],
                         "labels": dict((template.get("metadata") or {}).get("labels") or {})},
            "data": {"spec": {"template": {**clone(template), "$patch": "replace"}}},
            "revision": number,
        })
        limit = int(owner["spec"].get("revisionHistoryLimit", 10))
        for old in sorted(history, key=lambda r: int(r.get("revision", 0)))[: max(len(history) - limit, 0)]:
            ctl.store.delete(CONTROLLER_REVISION, namespace, old["metadata"]["name"])
    return name


def _templated_pod(owner: Obj, name: str, revision: str, extra_labels: dict[str, str]) -> Obj:
    pod = pod_from_template(owner, name, None)
    labels = pod["metadata"].setdefault("labels", {})
    labels.update({REVISION_HASH: revision, **extra_labels})
    return pod


# -- StatefulSet ------------------------------------------------------------------------------------------
def _ordinal(pod: Obj, name: str) -> int:
    suffix = pod["metadata"]["name"].removeprefix(f"{name}-")
    return int(suffix) if suffix.isdigit() else -1


def _ensure_claims(ctl: Controller, stateful_set: Obj, ordinal: int, pod: Obj) -> None:
    meta = stateful_set["metadata"]
    volumes = pod["spec"].setdefault("volumes", [])
    for template in stateful_set["spec"].get("volumeClaimTemplates") or []:
        claim = f"{template['metadata']['name']}-{meta['name']}-{ordinal}"
        if ctl.store.peek(PVC, meta["namespace"], claim) is None:
            spec = clone(template.get("spec") or {})
            size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
            ctl.store.create(PVC, {
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": claim, "namespace": meta["namespace"],
                             "labels": dict((template.get("metadata") or {}).get("labels") or {})},
                "spec": spec, "status": {"phase": "Bound", "capacity": {"storage": size},
                                         "accessModes": spec.get("accessModes") or ["ReadWriteOnce"]}})
        if not any(v.get("name") == template["metadata"]["name"] for v in volumes):
            volumes.append({"name": template["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim}})


def _sync_stateful_set(ctl: Controller, stateful_set: Obj) -> None:
    meta, spec = stateful_set["metadata"], stateful_set["spec"]
    name = meta["name"]
    update_revision = _revision(ctl, stateful_set)
    replicas = int(spec.get("replicas", 1))
    parallel = spec.get("podManagementPolicy") == "Parallel"
    pods = {_ordinal(p, name): p for p in _owned_pods(ctl, stateful_set) if _ordinal(p, name) >= 0}
    for ordinal in range(replicas):
        if ordinal in pods:
            continue
        if not parallel and any(o < ordinal and (o not in pods or not is_ready(pods[o])) for o in range(ordinal)):
            break
        pod_name = f"{name}-{ordinal}"
        pod = _templated_pod(stateful_set, pod_name, update_revision, {
            "statefulset.kubernetes.io/pod-name": pod_name, "apps.kubernetes.io/pod-index": str(ordinal)})
        pod["spec"]["hostname"] = pod_name
        if spec.get("serviceName"):
            pod["spec"]["subdomain"] = spec["serviceName"]
        _ensure_claims(ctl, stateful_set, ordinal, pod)
        created = ctl.create_pod(stateful_set, pod)
        if created is None:
            break
        pods[ordinal] = created
        if not parallel:
            break
    settled = all(is_ready(p) and _active(p) for p in pods.values())
    for ordinal in sorted((o for o in pods if o >= replicas), reverse=True):
        if _active(pods[ordinal]) and (parallel or settled):
            ctl.store.delete(POD, meta["namespace"], pods[ordinal]["metadata"]["name"])
            if not parallel:
                break
    strategy = spec.get("updateStrategy") or {}
    partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0))
    if strategy.get("type", "RollingUpdate") == "RollingUpdate" and settled and len(pods) >= replicas:
        for ordinal in sorted((o for o in pods if partition <= o < replicas), reverse=True):
            pod = pods[ordinal]
            if (pod["metadata"].get("labels") or {}).get(REVISION_HASH) != update_revision:
                ctl.store.delete(POD, meta["namespace"], pod["metadata"]["name"])
                break
    _stateful_set_status(ctl, stateful_set, update_revision)


def _stateful_set_status(ctl: Controller, stateful_set: Obj, update_revision: str) -> None:
    name = stateful_set["metadata"]["name"]
    pods = [p for p in _owned_pods(ctl, stateful_set) if _active(p) and _ordinal(p, name) >= 0]
    revisions = [(p["metadata"].get("labels") or {}).get(REVISION_HASH) for p in pods]
    old_status = stateful_set.get("status") or {}
    current_revision = old_status.get("currentRevision") or update_revision
    updated = sum(1 for r in revisions if r == update_revision)
    replicas = int(stateful_set["spec"].get("replicas", 1))
    if updated == len(pods) == replicas:
        current_revision = update_revision
    ready = sum(1 for p in pods if is_ready(p))
    status = {
        "observedGeneration": stateful_set["metadata"].get("generation", 1),
        "replicas": len(pods),
        "readyReplicas": ready,
        "currentReplicas": sum(1 for r in revisions if r == current_revision),
        "updatedReplicas": updated,
        "availableReplicas": ready,
        "currentRevision": current_revision,
        "updateRevision": update_revision,
        "collisionCount": 0,
    }
    ctl.set_status(STATEFULSET, stateful_set, _drop_zeros(
        status, ("readyReplicas", "currentReplicas", "updatedReplicas")))


# -- DaemonSet --------------------------------------------------------------------------------------------
def _daemon_template_pod(daemon_set: Obj) -> Obj:
    template = clone(daemon_set["spec"].get("template") or {})
    spec = template.setdefault("spec", {})
    tolerations = spec.setdefault("tolerations", [])
    for default in DAEMON_TOLERATIONS:
        if default not in tolerations:
            tolerations.append(dict(default))
    return {"metadata": template.get("metadata") or {}, "spec": spec}


def _should_run(daemon_set: Obj, node: Obj) -> bool:
    candidate = _daemon_template_pod(daemon_set)
    return affinity_matches(candidate, node) and not untolerated(candidate, node)


def _pin(pod: Obj, node: str) -> None:
    """The DaemonSet controller's pin: a required node affinity on metadata.name, plus its tolerations."""
    spec = pod["spec"]
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
    affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [term]}
    tolerations = spec.setdefault("tolerations", [])
    for default in DAEMON_TOLERATIONS:
        if default not in tolerations:
            tolerations.append(dict(default))


def _sync_daemon_set(ctl: Controller, daemon_set: Obj) -> None:
    meta = daemon_set["metadata"]
    revision = _revision(ctl, daemon_set)
    nodes = {n["metadata"]["name"]: n for n in ctl.store.scan(NODE)}
    wanted = {name for name, node in nodes.items() if _should_run(daemon_set, node)}
    pods = _owned_pods(ctl, daemon_set)
    by_node: dict[str, list[Obj]] = {}
    for pod in pods:
        by_node.setdefault(_pinned_node(pod), []).append(pod)
    for node_name in sorted(wanted):
        if by_node.get(node_name):
            continue  # running there, or the old pod is still terminating
        pod = _templated_pod(daemon_set, f"{meta['name']}-{secrets.token_hex(3)[:5]}", revision,
                             {"pod-template-generation": str(meta.get("generation", 1))})
        _pin(pod, node_name)
        ctl.create_pod(daemon_set, pod)
    for node_name, here in by_node.items():
        if node_name not in wanted:
            for pod in here:
                if _active(pod):
                    ctl.store.delete(POD, meta["namespace"], pod["metadata"]["name"])
    _daemon_rolling_update(ctl, daemon_set, revision, wanted)
    _daemon_set_status(ctl, daemon_set, revision, wanted)


def _pinned_node(pod: Obj) -> str:
    if pod["spec"].get("nodeName"):
        return str(pod["spec"]["nodeName"])
    terms = ((((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or [])
    for term in terms:
        for match in term.get("matchFields") or []:
            if match.get("key") == "metadata.name" and match.get("values"):
                return str(match["values"][0])
    return ""


def _daemon_rolling_update(ctl: Controller, daemon_set: Obj, revision: str, wanted: set[str]) -> None:
    strategy = daemon_set["spec"].get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return
    limit = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1)
    max_unavailable = max(int(limit), 1) if isinstance(limit, int) else 1
    pods = [p for p in _owned_pods(ctl, daemon_set) if _pinned_node(p) in wanted]
    unavailable = len(wanted) - sum(1 for p in pods if _active(p) and is_ready(p))
    outdated = [p for p in pods if _active(p) and (p["metadata"].get("labels") or {}).get(REVISION_HASH) != revision]
    for pod in sorted(outdated, key=lambda p: p["metadata"]["name"]):
        if unavailable >= max_unavailable:
            break
        ctl.store.delete(POD, pod["metadata"]["namespace"], pod["metadata"]["name"])
        unavailable += 1


def _daemon_set_status(ctl: Controller, daemon_set: Obj, revision: str, wanted: set[str]) -> None:
    pods = [p for p in _owned_pods(ctl, daemon_set) if _active(p)]
    scheduled = {_pinned_node(p) for p in pods if p["spec"].get("nodeName")}
    ready_nodes = {_pinned_node(p) for p in pods if is_ready(p)}
    updated = {_pinned_node(p) for p in pods if p["spec"].get("nodeName")
               and (p["metadata"].get("labels") or {}).get(REVISION_HASH) == revision}
    desired = len(wanted)
    available = len(ready_nodes & wanted)
    status = {
        "observedGeneration": daemon_set["metadata"].get("generation", 1),
        "desiredNumberScheduled": desired,
        "currentNumberScheduled": len(scheduled & wanted),
        "numberMisscheduled": len(scheduled - wanted),
        "numberReady": len(ready_nodes & wanted),
        "updatedNumberScheduled": len(updated & wanted),
        "numberAvailable": available,
        "numberUnavailable": desired - available,
    }
    ctl.set_status(DAEMONSET, daemon_set, _drop_zeros(status, ("updatedNumberScheduled", "numberAvailable",
                                                                 "numberUnavailable")))


# -- Job --------------------------------------------------------------------------------------------------
def _condition(kind: str, now: str, reason: str, message: str) -> Obj:
    return {"type": kind, "status": "True", "lastProbeTime": now, "lastTransitionTime": now, "reason": reason,
            "message": message}


def _sync_job(ctl: Controller, job: Obj) -> None:
    spec, meta = job["spec"], job["metadata"]
    status = clone_obj(job.get("status") or {})
    now = ctl.store.now()
    pods = _owned_pods(ctl, job)
    succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
    failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
    running = [p for p in pods if _active(p)]
    finished = any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                   for c in status.get("conditions") or [])
    completions = spec.get("completions")
    if not finished:
        if completions is not None and succeeded >= int(completions):
            status["conditions"] = [*status.get("conditions", []),
                                    _condition("SuccessCriteriaMet", now, "CompletionsReached", "Reached expected "
                                               "number of succeeded pods"),
                                    _condition("Complete", now, "CompletionsReached",
                                               "Reached expected number of succeeded pods")]
            status["completionTime"] = now
            finished = True
        elif failed > int(spec.get("backoffLimit", 6)):
            status["conditions"] = [*status.get("conditions", []),
                                    _condition("FailureTarget", now, "BackoffLimitExceeded",
                                               "Job has reached the specified backoff limit"),
                                    _condition("Failed", now, "BackoffLimitExceeded",
                                               "Job has reached the specified backoff limit")]
            finished = True
    if finished or spec.get("suspend"):
        for pod in running:
            ctl.store.delete(POD, meta["namespace"], pod["metadata"]["name"])
        running = []
    else:
        want = int(spec.get("parallelism", 1))
        if completions is not None:
            want = min(want, int(completions) - succeeded)
        for _ in range(max(want - len(running), 0)):
            pod = pod_from_template(job, f"{meta['name']}-{secrets.token_hex(3)[:5]}", None)
            created = ctl.create_pod(job, pod)
            if created is None:
                break
            running.append(created)
        status.setdefault("startTime", now)
    status.update(active=len(running), ready=sum(1 for p in running if is_ready(p)), succeeded=succeeded,
                  failed=failed, terminating=sum(1 for p in pods if p["metadata"].get("deletionTimestamp")),
                  uncountedTerminatedPods={})
    ctl.set_status(JOB, job, _drop_zeros(status, ("active", "succeeded", "failed")))
