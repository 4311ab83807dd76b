"""The controller loop: Deployments -> ReplicaSets -> Pods, the other workloads, pod readiness, scheduling,
graceful termination, garbage collection and status.

One reconcile pass is plain synchronous code over the store; the asyncio task runs a pass whenever the
store changes, when a pod's start delay or termination is due, and at least every `resync_seconds` (so health
hooks that depend on outside state are re-read).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from jeju_lab.kube_double import disruption, garbage, workloads
from jeju_lab.kube_double.api_errors import ApiError
from jeju_lab.kube_double.endpoints import sync_endpoints
from jeju_lab.kube_double.kubelet import Kubelet
from jeju_lab.kube_double.patching import clone_obj
from jeju_lab.kube_double.pods import controlled_by, is_ready, kubelet_status, pending_status, pod_from_template
from jeju_lab.kube_double.resources import DEPLOYMENT, NODE, POD, REPLICASET, ResourceType
from jeju_lab.kube_double.scheduler import node_ready, pick_node

if TYPE_CHECKING:
    from jeju_lab.kube_double.cluster import Cluster

Obj = dict[str, Any]
LOG = logging.getLogger(__name__)
REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
CHANGE_CAUSE = "kubernetes.io/change-cause"
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: Obj) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(_SAFE_ALPHABET[b % len(_SAFE_ALPHABET)] for b in digest[:10])


def strip_hash(template: Obj) -> Obj:
    stripped = clone_obj(template)
    labels = (stripped.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return stripped


def revision(obj: Obj) -> int:
    try:
        return int((obj["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def active(pod: Obj) -> bool:
    """Counted by its controller: not being deleted and not finished."""
    return not pod["metadata"].get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in (
        "Succeeded", "Failed")


def deleting(obj: Obj) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


class Controller:
    def __init__(
        self,
        cluster: Cluster,
        ready_delay: float,
        resync_seconds: float = 0.5,
        *,
        stop_seconds: float = 0.5,
        unreachable_pods_linger: bool = False,
    ) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self.ready_delay = ready_delay
        self.resync_seconds = resync_seconds
        self.kubelet = Kubelet(cluster.store, stop_seconds, unreachable_pods_linger=unreachable_pods_linger)
        self._next_termination: float | None = None
        self._warned: set[tuple[str, str]] = set()  # (uid, message) of FailedScheduling/FailedCreate events sent
        self._ready_at: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # -- the loop --------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name="lab-kube-controller")

    async def stop(self) -> None:
        """Finish the current pass and end the loop (a flag, not cancel: wait_for in 3.11 can eat a cancel)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        done, _ = await asyncio.wait({task}, timeout=2.0)
        if not done:
            task.cancel()

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                self.reconcile()
            except Exception:  # keep the loop alive; the log says what broke
                LOG.exception("lab controller pass failed")
            pending = [t - time.monotonic() for t in self._ready_at.values() if t > time.monotonic()]
            if self._next_termination is not None:
                pending.append(self._next_termination)
            timeout = min([self.resync_seconds, *pending])
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(timeout, 0.01)):
                    await self._wake.wait()

    def reconcile(self) -> None:
        """One pass: terminations, garbage, evictions, pods, then each workload controller and the statuses."""
        self._next_termination = self.kubelet.finish_terminations()
        self.cluster.housekeeping()
        garbage.collect(self.cluster)
        disruption.evict_for_taints(self.cluster)
        ready_nodes = {n["metadata"]["name"] for n in self.store.scan(NODE) if node_ready(n)}
        for pod in self.store.scan(POD):
            self._sync_pod(pod, ready_nodes)
        for deployment in self.store.scan(DEPLOYMENT):
            if not deployment["spec"].get("paused") and not deleting(deployment):
                self._sync_replica_sets(deployment)
        for replica_set in self.store.scan(REPLICASET):
            if not deleting(replica_set):
                self._sync_pods_of(replica_set)
        for deployment in self.store.scan(DEPLOYMENT):
            self._write_deployment_status(deployment)
        workloads.reconcile(self)
        disruption.sync_budgets(self.cluster)
        sync_endpoints(self.store)

    # -- pods ------------------------------------------------------------------------------------------
    def schedule(self, pod: Obj) -> tuple[str | None, str]:
        """The node kube-scheduler would bind the pod to, or (None, why no node fits)."""
        load = Counter(str(p["spec"].get("nodeName")) for p in self.store.scan(POD) if p["spec"].get("nodeName"))
        return pick_node(pod, self.store.scan(NODE), load)

    def create_pod(self, owner: Obj, pod: Obj) -> Obj | None:
        """Create a controller's pod, bound at once when a node fits; a refusal becomes a FailedCreate event."""
        node, _ = self.schedule(pod)
        if node is not None:
            pod["spec"]["nodeName"] = node
        try:
            return self.store.create(POD, pod)
        except ApiError as err:
            self.warn_once(owner, "FailedCreate", f"Error creating: {err.message}")
            LOG.warning("could not create a pod for %s/%s: %s", owner["metadata"].get("namespace"),
                        owner["metadata"]["name"], err)
            return None

    def warn_once(self, obj: Obj, reason: str, message: str) -> None:
        key = (str(obj["metadata"].get("uid")), message)
        if key not in self._warned:
            self._warned.add(key)
            self.cluster.record_event(obj, reason, message, type="Warning", component="jeju-lab-controller")

    def _sync_pod(self, pod: Obj, ready_nodes: set[str]) -> None:
        meta = pod["metadata"]
        now = self.store.now()
        if not pod["spec"].get("nodeName"):
            if deleting(pod):
                return
            node, message = self.schedule(pod)
            if node is None:
                self._set_status(POD, pod, pending_status(now, unschedulable=message))
                self.warn_once(pod, "FailedScheduling", message)
                return
            bound = clone_obj(pod)
            bound["spec"]["nodeName"] = node
            pod = self.store.update(POD, bound)
        started_at = self._ready_at.setdefault(meta["uid"], time.monotonic() + self.ready_delay)
        started = time.monotonic() >= started_at
        node_name = pod["spec"]["nodeName"]
        health = self.cluster.pod_health(pod) if started else None
        status = kubelet_status(pod, now, node_ready=node_name in ready_nodes, started=started, health=health)
        node_obj = self.store.peek(NODE, None, node_name)
        addresses = ((node_obj or {}).get("status") or {}).get("addresses") or []
        if addresses:
            status["hostIP"] = addresses[0]["address"]
        self._set_status(POD, pod, status)

    def set_status(self, rt: ResourceType, obj: Obj, status: Obj) -> None:
        self._set_status(rt, obj, status)

    def _set_status(self, rt: Any, obj: Obj, status: Obj) -> None:
        if obj.get("status") == status:
            return
        updated = clone_obj(obj)
        updated["status"] = status
        updated["metadata"].pop("resourceVersion", None)
        self.store.update(rt, updated, subresource="status")

    def forget_pod(self, uid: str) -> None:
        self._ready_at.pop(uid, None)

    # -- replica sets ----------------------------------------------------------------------------------
    def _sync_pods_of(self, replica_set: Obj) -> None:
        namespace = replica_set["metadata"]["namespace"]
        pods = [p for p in self.store.scan(POD, namespace) if controlled_by(p, replica_set) and active(p)]
        wanted = int(replica_set["spec"].get("replicas", 1))
        name = replica_set["metadata"]["name"]
        for _ in range(wanted - len(pods)):
            created = self.create_pod(replica_set, pod_from_template(replica_set, f"{name}-{secrets.token_hex(3)[:5]}",
                                                                     None))
            if created is None:
                break
            pods.append(created)
        if len(pods) > wanted:
            doomed = sorted(pods, key=lambda p: (is_ready(p), p["metadata"]["creationTimestamp"]))
            for pod in doomed[: len(pods) - wanted]:
                self.store.delete(POD, namespace, pod["metadata"]["name"])
                self.forget_pod(pod["metadata"]["uid"])
                pods.remove(pod)
        ready = sum(1 for p in pods if is_ready(p))
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": replica_set["metadata"].get("generation", 1),
        }
        for key in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
            if not status[key]:
                status.pop(key)  # `omitempty` in ReplicaSetStatus; `replicas` is always there
        current = self.store.peek(REPLICASET, namespace, name)
        if current is not None:
            self._set_status(REPLICASET, current, status)

    # -- deployments -----------------------------------------------------------------------------------
    def owned_replica_sets(self, deployment: Obj) -> list[Obj]:
        namespace = deployment["metadata"]["namespace"]
        owned = [rs for rs in self.store.scan(REPLICASET, namespace) if controlled_by(rs, deployment)]
        return sorted(owned, key=revision)

    def _sync_replica_sets(self, deployment: Obj) -> None:
        owned = self.owned_replica_sets(deployment)
        template = strip_hash(deployment["spec"]["template"])
        current = next((rs for rs in owned if strip_hash(rs["spec"]["template"]) == template), None)
        top_revision = max((revision(rs) for rs in owned), default=0)
        desired = int(deployment["spec"].get("replicas", 1))
        old = [rs for rs in owned if rs is not current]
        old_pods = sum((rs.get("status") or {}).get("replicas", 0) for rs in old)
        recreate = (deployment["spec"].get("strategy") or {}).get("type") == "Recreate"
        new_size = 0 if recreate and old_pods else desired
        if current is None:
            current = self._create_replica_set(deployment, template, top_revision + 1, new_size)
        else:
            wanted_revision = revision(current) if revision(current) == top_revision else top_revision + 1
            current = self._shape_replica_set(deployment, current, wanted_revision, new_size)
        self._mark_revision(deployment, current)
        current_ready = (current.get("status") or {}).get("readyReplicas", 0)
        if recreate or current_ready >= desired:
            for rs in old:
                self._shape_replica_set(deployment, rs, revision(rs), 0)
        self._prune_history(deployment, old)

    def _create_replica_set(self, deployment: Obj, template: Obj, number: int, replicas: int) -> Obj:
        meta = deployment["metadata"]
        pod_hash = template_hash(template)
        template = clone_obj(template)
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
        selector = clone_obj(deployment["spec"]["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        annotations = {REVISION: str(number), "deployment.kubernetes.io/desired-replicas": str(replicas)}
        cause = (meta.get("annotations") or {}).get(CHANGE_CAUSE)
        if cause:
            annotations[CHANGE_CAUSE] = cause
        replica_set = {
            "metadata": {
                "name": f"{meta['name']}-{pod_hash}",
                "namespace": meta["namespace"],
                "labels": template["metadata"]["labels"],
                "annotations": annotations,
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": {"replicas": replicas, "selector": selector, "template": template},
        }
        created = self.store.create(REPLICASET, replica_set)
        self.cluster.record_event(
            deployment,
            "ScalingReplicaSet",
            f"Scaled up replica set {created['metadata']['name']} to {replicas}",
            component="deployment-controller",
        )
        return created

    def _shape_replica_set(self, deployment: Obj, replica_set: Obj, number: int, replicas: int) -> Obj:
        annotations = replica_set["metadata"].get("annotations") or {}
        if replica_set["spec"].get("replicas") == replicas and annotations.get(REVISION) == str(number):
            return replica_set
        updated = clone_obj(replica_set)
        updated["metadata"].setdefault("annotations", {})[REVISION] = str(number)
        updated["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] = str(replicas)
        before = replica_set["spec"].get("replicas", 1)
        updated["spec"]["replicas"] = replicas
        result = self.store.update(REPLICASET, updated)
        if before != replicas:
            verb = "up" if replicas > before else "down"
            message = f"Scaled {verb} replica set {replica_set['metadata']['name']} from {before} to {replicas}"
            self.cluster.record_event(deployment, "ScalingReplicaSet", message, component="deployment-controller")
        return result

    def _mark_revision(self, deployment: Obj, current: Obj) -> None:
        number = str(revision(current))
        if (deployment["metadata"].get("annotations") or {}).get(REVISION) == number:
            return
        updated = clone_obj(deployment)
        updated["metadata"].setdefault("annotations", {})[REVISION] = number
        self.store.update(DEPLOYMENT, updated)

    def _prune_history(self, deployment: Obj, old: list[Obj]) -> None:
        limit = int(deployment["spec"].get("revisionHistoryLimit", 10))
        idle = [rs for rs in old if rs["spec"].get("replicas") == 0 and not (rs.get("status") or {}).get("replicas")]
        for rs in sorted(idle, key=revision)[: max(len(idle) - limit, 0)]:
            self.store.delete(REPLICASET, rs["metadata"]["namespace"], rs["metadata"]["name"])

    def _write_deployment_status(self, deployment: Obj) -> None:
        fresh = self.store.peek(DEPLOYMENT, deployment["metadata"]["namespace"], deployment["metadata"]["name"])
        if fresh is None:
            return
        owned = self.owned_replica_sets(fresh)
        template = strip_hash(fresh["spec"]["template"])
        current = next((rs for rs in owned if strip_hash(rs["spec"]["template"]) == template), None)
        namespace = fresh["metadata"]["namespace"]
        pods = [p for p in self.store.scan(POD, namespace) if any(controlled_by(p, rs) for rs in owned) and active(p)]
        updated = [p for p in pods if current is not None and controlled_by(p, current)]
        desired = int(fresh["spec"].get("replicas", 1))
        ready = sum(1 for p in pods if is_ready(p))
        updated_ready = sum(1 for p in updated if is_ready(p))
        complete = len(updated) == desired and len(pods) == desired and updated_ready == desired
        rs_name = current["metadata"]["name"] if current else fresh["metadata"]["name"]
        now = self.store.now()
        available = ready >= desired
        status: Obj = {
            "observedGeneration": fresh["metadata"].get("generation", 1),
            "replicas": len(pods),
            "updatedReplicas": len(updated),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": [
                {
                    "type": "Available",
                    "status": "True" if available else "False",
                    "lastUpdateTime": now,
                    "lastTransitionTime": now,
                    "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                    "message": "Deployment has minimum availability."
                    if available
                    else "Deployment does not have minimum availability.",
                },
                _progressing(fresh, complete, rs_name, now),
            ],
        }
        if desired - ready > 0:
            status["unavailableReplicas"] = desired - ready
        for key in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
            if not status[key]:
                status.pop(key)  # DeploymentStatus fields are `omitempty`: a real API server drops zeros
        old_status = fresh.get("status") or {}
        previous = {c["type"]: c for c in old_status.get("conditions") or []}
        for condition in status["conditions"]:
            before = previous.get(condition["type"])
            if before and before.get("status") == condition["status"]:
                condition["lastTransitionTime"] = before.get("lastTransitionTime", now)
                if before.get("reason") == condition["reason"]:
                    condition["lastUpdateTime"] = before.get("lastUpdateTime", now)
        self._set_status(DEPLOYMENT, fresh, status)


def _progressing(deployment: Obj, complete: bool, rs_name: str, now: str) -> Obj:
    """The Progressing condition: Unknown/DeploymentPaused while paused, as the deployment controller sets it."""
    if deployment["spec"].get("paused"):
        return {"type": "Progressing", "status": "Unknown", "lastUpdateTime": now, "lastTransitionTime": now,
                "reason": "DeploymentPaused", "message": "Deployment is paused"}
    return {
        "type": "Progressing",
        "status": "True",
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
        "message": f'ReplicaSet "{rs_name}" has successfully progressed.' if complete
        else f'ReplicaSet "{rs_name}" is progressing.',
    }
