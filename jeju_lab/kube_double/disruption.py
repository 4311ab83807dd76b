"""Voluntary and taint-driven disruption: PodDisruptionBudget status, the pods/eviction subresource, and the
taint manager's evictions for NoExecute taints.

A budget's `desiredHealthy` comes from minAvailable (a number or a percentage of the expected pods) or
maxUnavailable; `expectedPods` counts the replicas the matching pods' controllers want (a pod without a controller
counts itself). An eviction of a healthy pod is refused with 429 TooManyRequests when the budget allows no
disruption; an unhealthy pod may go while the budget is met (unhealthyPodEvictionPolicy IfHealthyBudget) or always
(AlwaysAllow). An evicted pod is deleted gracefully, like a `kubectl delete` with the eviction's deleteOptions.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from jeju_lab.kube_double.api_errors import ApiError, too_many_requests
from jeju_lab.kube_double.patching import clone_obj
from jeju_lab.kube_double.pods import is_ready
from jeju_lab.kube_double.resources import NODE, PDB, POD, ResourceType, by_kind
from jeju_lab.kube_double.scheduler import untolerated
from jeju_lab.kube_double.selectors import labels_match, requirements_from_selector

if TYPE_CHECKING:
    from jeju_lab.kube_double.cluster import Cluster

Obj = dict[str, Any]
_SCALABLE: dict[str, ResourceType] = {kind: by_kind(kind) for kind in ("ReplicaSet", "StatefulSet", "Job")}


def _matching_pods(cluster: Cluster, budget: Obj) -> list[Obj]:
    selector = requirements_from_selector(budget["spec"].get("selector"))
    if not budget["spec"].get("selector"):
        return []
    return [p for p in cluster.store.scan(POD, budget["metadata"]["namespace"]) if labels_match(selector, p)]


def _expected(cluster: Cluster, pods: list[Obj]) -> int:
    owners: dict[str, int] = {}
    count = 0
    for pod in pods:
        ref = next((r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
        rt = _SCALABLE.get(str((ref or {}).get("kind")))
        owner = cluster.store.peek(rt, pod["metadata"]["namespace"], ref["name"]) if ref and rt else None
        if owner is None:
            count += 1
        else:
            field = "parallelism" if owner["kind"] == "Job" else "replicas"
            owners[owner["metadata"]["uid"]] = int(owner["spec"].get(field, 1))
    return count + sum(owners.values())


def _count(value: Any, total: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


def budget_status(cluster: Cluster, budget: Obj) -> Obj:
    pods = _matching_pods(cluster, budget)
    expected = _expected(cluster, pods)
    spec = budget["spec"]
    healthy = sum(1 for p in pods if is_ready(p) and not p["metadata"].get("deletionTimestamp"))
    if "maxUnavailable" in spec:
        desired = max(expected - _count(spec["maxUnavailable"], expected), 0)
    else:
        desired = _count(spec.get("minAvailable", 1), expected)
    disrupted = dict((budget.get("status") or {}).get("disruptedPods") or {})
    live = {p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")}
    disrupted = {name: when for name, when in disrupted.items() if name in live}
    allowed = max(healthy - len(disrupted) - desired, 0)
    now = cluster.store.now()
    condition = {"type": "DisruptionAllowed", "status": "True" if allowed > 0 else "False",
                 "reason": "SufficientPods" if allowed > 0 else "InsufficientPods", "message": "",
                 "observedGeneration": budget["metadata"].get("generation", 1), "lastTransitionTime": now}
    before = next((c for c in (budget.get("status") or {}).get("conditions") or []
                   if c.get("type") == "DisruptionAllowed"), None)
    if before is not None and before.get("status") == condition["status"]:
        condition["lastTransitionTime"] = before.get("lastTransitionTime", now)
    status: Obj = {"observedGeneration": budget["metadata"].get("generation", 1), "disruptionsAllowed": allowed,
                   "currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected,
                   "conditions": [condition]}
    if disrupted:
        status["disruptedPods"] = disrupted
    return status


def sync_budgets(cluster: Cluster) -> None:
    for budget in cluster.store.scan(PDB):
        status = budget_status(cluster, budget)
        if budget.get("status") != status:
            updated = clone_obj(budget)
            updated["status"] = status
            updated["metadata"].pop("resourceVersion", None)
            cluster.store.update(PDB, updated, subresource="status")


def evict(cluster: Cluster, namespace: str, name: str, eviction: Obj, *, dry_run: bool = False) -> Obj:
    """POST pods/{name}/eviction: delete the pod unless a PodDisruptionBudget forbids it (429)."""
    store = cluster.store
    pod = store.get(POD, namespace, name)
    options = eviction.get("deleteOptions") or {}
    grace = options.get("gracePeriodSeconds")
    success = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    if pod["metadata"].get("deletionTimestamp"):
        return success
    budgets = [] if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") else [
        b for b in store.scan(PDB, namespace)
        if b["spec"].get("selector") and labels_match(requirements_from_selector(b["spec"]["selector"]), pod)]
    if len(budgets) > 1:
        raise ApiError(500, "InternalError", "This pod has more than one PodDisruptionBudget, which the eviction "
                       "subresource does not support.")
    if budgets:
        budget = budgets[0]
        status = budget_status(cluster, budget)
        policy = budget["spec"].get("unhealthyPodEvictionPolicy", "IfHealthyBudget")
        if is_ready(pod):
            if status["disruptionsAllowed"] <= 0:
                raise too_many_requests(
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                    f"The disruption budget {budget['metadata']['name']} needs {status['desiredHealthy']} healthy "
                    f"pods and has {status['currentHealthy']} currently")
            if not dry_run:
                status["disruptedPods"] = {**status.get("disruptedPods", {}), name: store.now()}
                status["disruptionsAllowed"] -= 1
                updated = clone_obj(budget)
                updated["status"] = status
                updated["metadata"].pop("resourceVersion", None)
                store.update(PDB, updated, subresource="status")
        elif policy != "AlwaysAllow" and status["currentHealthy"] < status["desiredHealthy"]:
            raise too_many_requests(
                "Cannot evict pod as it would violate the pod's disruption budget.",
                f"The disruption budget {budget['metadata']['name']} does not allow evicting pods that are not "
                f"healthy: it needs {status['desiredHealthy']} healthy pods and has {status['currentHealthy']}")
    store.delete(POD, namespace, name, grace_seconds=grace, dry_run=dry_run,
                 preconditions=options.get("preconditions"))
    if not dry_run:
        cluster.record_event(pod, "Evicted", "Evicted pod" if not budgets else
                             f"Evicted pod (PodDisruptionBudget {budgets[0]['metadata']['name']})",
                             component="eviction")
    return success


def evict_for_taints(cluster: Cluster) -> None:
    """The taint manager: a pod on a node with a NoExecute taint it does not tolerate is deleted (at once, or
    after its toleration's tolerationSeconds counted from the taint's timeAdded)."""
    store = cluster.store
    nodes = {n["metadata"]["name"]: n for n in store.scan(NODE)}
    now = store.clock()
    for pod in store.scan(POD):
        node = nodes.get(str(pod["spec"].get("nodeName") or ""))
        if node is None or pod["metadata"].get("deletionTimestamp"):
            continue
        if untolerated(pod, node, ("NoExecute",)) or _toleration_expired(pod, node, now):
            meta = pod["metadata"]
            store.delete(POD, meta.get("namespace"), meta["name"])
            cluster.record_event(pod, "TaintManagerEviction", f"Marking for deletion Pod {meta.get('namespace')}/"
                                 f"{meta['name']}", component="taint-eviction-controller")


def _toleration_expired(pod: Obj, node: Obj, now: float) -> bool:
    from datetime import datetime

    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") != "NoExecute":
            continue
        for toleration in (pod.get("spec") or {}).get("tolerations") or []:
            seconds = toleration.get("tolerationSeconds")
            if seconds is None or untolerated({"spec": {"tolerations": [toleration]}}, {"spec": {"taints": [taint]}}):
                continue
            added = taint.get("timeAdded")
            if not added:
                continue
            started = datetime.fromisoformat(str(added).replace("Z", "+00:00")).timestamp()
            if now >= started + int(seconds):
                return True
    return False
