"""`Cluster`: the in-process face of the API double for simulators (same process, same asyncio loop).

All methods are plain calls to be made on the loop that runs the server (from another thread use
`loop.call_soon_threadsafe` or `ThreadedKubeServer.call`). Objects are plain dicts shaped like the API's
JSON; every method returns copies.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jeju_lab.kube_double import crds, disruption
from jeju_lab.kube_double.api_faults import ApiFaults
from jeju_lab.kube_double.auth import ADMIN, LAB_TOKEN, Tokens, issue_service_account_tokens
from jeju_lab.kube_double.controller import Controller
from jeju_lab.kube_double.hooks import (
    ContainerUsage,
    ExecHandler,
    MetricsHook,
    PodHealth,
    PodHealthHook,
    default_exec_handler,
    default_metrics_hook,
)
from jeju_lab.kube_double.kubelet import TerminationHook
from jeju_lab.kube_double.patching import clone_obj, merge_patch
from jeju_lab.kube_double.resources import (
    CONFIGMAP,
    CRD,
    EVENT,
    NAMESPACE,
    NODE,
    POD,
    SERVICE_ACCOUNT,
    Registry,
    ResourceType,
)
from jeju_lab.kube_double.scheduler import UNSCHEDULABLE_TAINT
from jeju_lab.kube_double.selectors import parse_field_selector, parse_label_selector
from jeju_lab.kube_double.store import Store, iso_time
from jeju_lab.kube_double.tls import lab_certificate

Obj = dict[str, Any]
LOG_LINES_KEPT = 10_000


@dataclass(frozen=True)
class LogLine:
    timestamp: float
    text: str


UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"


def node_object(name: str, address: str, labels: dict[str, str] | None = None) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                              "kubernetes.io/arch": "amd64", **(labels or {})}},
        "spec": {},
        "status": {
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}],
            "nodeInfo": {
                "kubeletVersion": "v1.32.0",
                "kubeProxyVersion": "v1.32.0",
                "osImage": "jeju lab",
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kernelVersion": "6.1.0",
                "containerRuntimeVersion": "containerd://1.7.0",
                "bootID": f"boot-{name}",
                "machineID": f"machine-{name}",
                "systemUUID": f"uuid-{name}",
            },
        },
    }


def namespace_defaults(namespace: str) -> list[tuple[ResourceType, Obj]]:
    """What every namespace gets: the kube-root-ca.crt ConfigMap (the API's CA) and the default ServiceAccount."""
    ca = lab_certificate().ca.cert_pem.decode()
    return [
        (CONFIGMAP, {"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "kube-root-ca.crt", "namespace": namespace,
                                  "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be "
                                                  "used to verify the kube-apiserver when using internal "
                                                  "endpoints such as the internal service IP or kubernetes."
                                                  "default.svc. No other usage is guaranteed across distributions "
                                                  "of Kubernetes clusters."}},
                     "data": {"ca.crt": ca}}),
        (SERVICE_ACCOUNT, {"apiVersion": "v1", "kind": "ServiceAccount",
                           "metadata": {"name": "default", "namespace": namespace}}),
    ]


class Cluster:
    """The lab cluster: objects, a controller, logs and the hooks simulators plug into.

    ready_delay: seconds from a pod's creation to Running/Ready. stop_seconds: seconds a container that handles
    SIGTERM takes to stop (bounded by the grace period). unreachable_pods_linger: a deleted pod on a NotReady node
    stays Terminating until force-deleted, as on a real cluster (default: it goes at once).
    """

    def __init__(
        self,
        *,
        ready_delay: float = 0.3,
        nodes: tuple[str, ...] = ("lab-node-a", "lab-node-b"),
        namespaces: tuple[str, ...] = ("default", "kube-system"),
        clock: Callable[[], float] = time.time,
        stop_seconds: float = 0.5,
        unreachable_pods_linger: bool = False,
    ) -> None:
        self.store = Store(clock, Registry())
        self.store.namespace_defaults = namespace_defaults
        self.tokens = Tokens(clock)
        self.tokens.add(LAB_TOKEN, ADMIN)
        self.controller = Controller(self, ready_delay, stop_seconds=stop_seconds,
                                     unreachable_pods_linger=unreachable_pods_linger)
        self.exec_handler: ExecHandler = default_exec_handler
        self.metrics_hook: MetricsHook = default_metrics_hook
        self._health_hook: PodHealthHook | None = None
        self._logs: dict[tuple[str, str, str, bool], deque[LogLine]] = {}
        self.api_faults = ApiFaults()  # the next requests that answer 500/429 or stall (api_faults.py)
        self.requests_served: Counter[str] = Counter()  # HTTP requests by method, for the benchmarks
        self.store.subscribe(self._on_change)
        for namespace in namespaces:
            self.ensure_namespace(namespace)
        for index, name in enumerate(nodes):
            self.add_node(name, ready=True, address=f"192.0.2.{10 + index}")

    # -- objects ---------------------------------------------------------------------------------------
    def kind(self, kind: str, api_version: str | None = None) -> ResourceType:
        """The resource type of a kind (built-in first, then those CustomResourceDefinitions added)."""
        return self.store.registry.by_kind(kind, api_version)

    def create(self, obj: Obj) -> Obj:
        """Create an object from a dict with apiVersion/kind/metadata (409 AlreadyExists if it exists)."""
        return self.store.create(self.kind(obj["kind"], obj.get("apiVersion")), obj)

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        """The object, or NotFound (an ApiError with code 404)."""
        return self.store.get(self.kind(kind), namespace, name)

    def find(self, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        found = self.store.peek(self.kind(kind), namespace, name)
        return None if found is None else self.store.get(self.kind(kind), namespace, name)

    def list(
        self, kind: str, namespace: str | None = None, label_selector: str = "", field_selector: str = ""
    ) -> list[Obj]:
        return self.store.list(
            self.kind(kind), namespace, parse_label_selector(label_selector), parse_field_selector(field_selector)
        )

    def patch(self, kind: str, name: str, namespace: str | None, patch: Obj) -> Obj:
        """JSON-merge-patch an object (status is left alone: use update_status)."""
        rt = self.kind(kind)
        current = self.store.get(rt, namespace, name)
        merged = merge_patch(current, patch)
        merged["metadata"].pop("resourceVersion", None)
        return self.store.update(rt, merged)

    def update_status(self, kind: str, name: str, namespace: str | None, status: Obj) -> Obj:
        """Merge `status` into the object's status (None values delete keys)."""
        rt = self.kind(kind)
        current = self.store.get(rt, namespace, name)
        current["status"] = merge_patch(current.get("status") or {}, status)
        current["metadata"].pop("resourceVersion", None)
        return self.store.update(rt, current, subresource="status")

    def delete(
        self, kind: str, name: str, namespace: str | None = None, *, grace_seconds: int | None = None,
        propagation: str = "Background",
    ) -> Obj:
        """Delete an object and (like the garbage collector) everything it owns. A pod on a node is stopped
        gracefully (grace_seconds, default its terminationGracePeriodSeconds; 0 removes it now)."""
        return self.store.delete(self.kind(kind), namespace, name, grace_seconds=grace_seconds,
                                 propagation=propagation)

    def evict(self, namespace: str, pod: str, *, grace_seconds: int | None = None) -> Obj:
        """What POST pods/{pod}/eviction does (429 TooManyRequests when a PodDisruptionBudget forbids it)."""
        options = {} if grace_seconds is None else {"gracePeriodSeconds": grace_seconds}
        return disruption.evict(self, namespace, pod, {"deleteOptions": options})

    def apply(self, obj: Obj) -> Obj:
        """Create the object, or merge it into the existing one."""
        existing = self.find(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"))
        if existing is None:
            return self.create(obj)
        return self.patch(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"), obj)

    def ensure_namespace(self, name: str) -> Obj:
        found = self.store.peek(NAMESPACE, None, name)
        if found is not None:
            return self.store.get(NAMESPACE, None, name)
        labels = {"kubernetes.io/metadata.name": name}
        return self.store.create(NAMESPACE, {"metadata": {"name": name, "labels": labels}})

    def subscribe(self, fn: Callable[[str, Obj], None]) -> Callable[[], None]:
        """Call fn(event_type, obj) after every change (ADDED/MODIFIED/DELETED). Returns an unsubscribe."""
        return self.store.subscribe(fn)

    def record_event(
        self, involved: Obj, reason: str, message: str, *, type: str = "Normal", component: str = "jeju-lab"
    ) -> Obj:
        """A core/v1 Event about `involved`, as `kubectl get events` and describe show it."""
        meta = involved["metadata"]
        namespace = meta.get("namespace") or "default"
        now = self.store.now()
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}", "namespace": namespace},
            "involvedObject": {
                "apiVersion": involved.get("apiVersion"),
                "kind": involved.get("kind"),
                "name": meta["name"],
                "namespace": namespace,
                "uid": meta.get("uid"),
            },
            "reason": reason,
            "message": message,
            "type": type,
            "count": 1,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "source": {"component": component},
            "reportingComponent": component,
        }
        return self.store.create(EVENT, event)

    # -- nodes -----------------------------------------------------------------------------------------
    def add_node(
        self, name: str, *, ready: bool = True, address: str = "192.0.2.99", labels: dict[str, str] | None = None
    ) -> Obj:
        node = node_object(name, address, labels)
        node["status"]["conditions"] = [self._ready_condition(ready)]
        return self.store.create(NODE, node)

    def set_node_ready(self, name: str, ready: bool) -> Obj:
        """Flip a node's Ready condition. Pods on a NotReady node turn Unknown and stay until deleted;
        new pods only go to Ready nodes (the node gets the node.kubernetes.io/unreachable taint)."""
        node = self.store.get(NODE, None, name)
        others = [c for c in node["status"].get("conditions") or [] if c["type"] != "Ready"]
        node["status"]["conditions"] = [*others, self._ready_condition(ready)]
        taints = [t for t in node["spec"].get("taints") or [] if t.get("key") != UNREACHABLE_TAINT]
        if not ready:
            taints.append({"key": UNREACHABLE_TAINT, "effect": "NoSchedule", "timeAdded": self.store.now()})
        node["spec"]["taints"] = taints
        node["metadata"].pop("resourceVersion", None)
        self.store.update(NODE, node)
        return self.store.update(NODE, node, subresource="status")

    def cordon(self, name: str, unschedulable: bool = True) -> Obj:
        """`kubectl cordon` (unschedulable=False: uncordon): no new pod goes to the node."""
        return self.patch("Node", name, None, {"spec": {"unschedulable": unschedulable}})

    def _ready_condition(self, ready: bool) -> Obj:
        now = self.store.now()
        return {
            "type": "Ready",
            "status": "True" if ready else "Unknown",
            "reason": "KubeletReady" if ready else "NodeStatusUnknown",
            "message": "kubelet is posting ready status" if ready else "Kubelet stopped posting node status.",
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
        }

    # -- hooks -----------------------------------------------------------------------------------------
    def set_pod_health_hook(self, fn: PodHealthHook | None) -> None:
        """fn(pod) -> PodHealth | None, asked for every started pod on each controller pass."""
        self._health_hook = fn
        self.controller.wake()

    def pod_health(self, pod: Obj) -> PodHealth | None:
        return self._health_hook(pod) if self._health_hook is not None else None

    def set_termination_hook(self, fn: TerminationHook | None) -> None:
        """fn(pod) -> seconds its containers take to stop after SIGTERM (None: the default rule)."""
        self.controller.kubelet.termination_hook = fn

    def set_exec_handler(self, fn: ExecHandler | None) -> None:
        """fn(namespace, pod, container, argv) -> (exit_code, stdout, stderr), may be async."""
        self.exec_handler = fn or default_exec_handler

    def set_metrics_hook(self, fn: MetricsHook | None) -> None:
        """fn(pod, container_name) -> ContainerUsage | None (None: no metrics for that container)."""
        self.metrics_hook = fn or default_metrics_hook

    def container_usage(self, pod: Obj, container: str) -> ContainerUsage | None:
        return self.metrics_hook(pod, container)

    def refresh(self) -> None:
        """Ask the controller for a pass now (after outside state a hook reads has changed)."""
        self.controller.wake()

    # -- logs ------------------------------------------------------------------------------------------
    def _container_of(self, namespace: str, pod: str, container: str | None) -> str:
        if container:
            return container
        found = self.store.peek(POD, namespace, pod)
        containers = (found or {}).get("spec", {}).get("containers") or [{"name": ""}]
        return str(containers[0]["name"])

    def append_log(
        self, namespace: str, pod: str, line: str, container: str | None = None, *, previous: bool = False
    ) -> None:
        """Add a line to a pod's log (`previous=True`: the log of the last terminated container)."""
        key = (namespace, pod, self._container_of(namespace, pod, container), previous)
        self._logs.setdefault(key, deque(maxlen=LOG_LINES_KEPT)).append(LogLine(self.store.clock(), line))

    def read_log(
        self,
        namespace: str,
        pod: str,
        container: str | None = None,
        *,
        previous: bool = False,
        tail_lines: int | None = None,
        timestamps: bool = False,
        since_seconds: float | None = None,
    ) -> str:
        lines = list(self._logs.get((namespace, pod, self._container_of(namespace, pod, container), previous), ()))
        if since_seconds is not None:
            lines = [entry for entry in lines if entry.timestamp >= self.store.clock() - since_seconds]
        if tail_lines is not None:
            lines = lines[-tail_lines:] if tail_lines > 0 else []
        if timestamps:
            return "".join(f"{iso_time(e.timestamp)} {e.text}\n" for e in lines)
        return "".join(f"{e.text}\n" for e in lines)

    # -- lifecycle -------------------------------------------------------------------------------------
    def housekeeping(self) -> None:
        """The small controllers of a pass: node cordon taints, CRD status, service-account tokens."""
        for node in self.store.scan(NODE):
            _sync_unschedulable_taint(self, node)
        crds.sync_status(self)
        issue_service_account_tokens(self.store, self.tokens, lab_certificate().ca.cert_pem)

    def _on_change(self, change_type: str, obj: Obj) -> None:
        self.controller.wake()
        if obj.get("kind") == CRD.kind and obj.get("apiVersion") == CRD.api_version:
            crds.on_change(self, change_type, obj)
        if change_type == "DELETED" and obj.get("kind") == "Pod":
            self.controller.forget_pod(obj["metadata"]["uid"])
            where = (obj["metadata"]["namespace"], obj["metadata"]["name"])
            for key in [k for k in self._logs if k[:2] == where]:
                del self._logs[key]

    def start(self) -> None:
        """Start the controller task on the running loop (start_server does this)."""
        self.controller.start()

    async def stop(self) -> None:
        self.store.close_watchers()
        await self.controller.stop()


def _sync_unschedulable_taint(cluster: Cluster, node: Obj) -> None:
    """The node lifecycle controller's taint for a cordoned node (node.kubernetes.io/unschedulable:NoSchedule)."""
    taints = node["spec"].get("taints") or []
    has = any(t.get("key") == UNSCHEDULABLE_TAINT for t in taints)
    wanted = bool(node["spec"].get("unschedulable"))
    if has == wanted:
        return
    updated = clone_obj(node)
    if wanted:
        updated["spec"]["taints"] = [*taints, {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule",
                                               "timeAdded": cluster.store.now()}]
    else:
        updated["spec"]["taints"] = [t for t in taints if t.get("key") != UNSCHEDULABLE_TAINT]
    updated["metadata"].pop("resourceVersion", None)
    cluster.store.update(NODE, updated)


__all__ = ["Cluster", "ContainerUsage", "PodHealth"]
