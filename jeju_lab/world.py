"""The running lab in one asyncio loop: the Kubernetes double, the simulators and the glue between them.

The glue keeps the simulators' `Conditions` true to the cluster: op-node produces blocks only while an
op-node pod is Ready, and it uses the L1 URL of the pod that runs (so patching the Deployment and rolling
the pod really switches it). It routes simulator logs to the pods' logs and answers exec and metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from jeju_lab.chains.deploy import L1Deployment
from jeju_lab.faults_state import FaultState
from jeju_lab.kube_double import Cluster
from jeju_lab.sim import Conditions, RethLoad, SimStack
from jeju_lab.sim.conditions import apply_batcher_env, apply_op_node_env, apply_proposer_env
from jeju_lab.sim.proxy import RpcProxy
from jeju_lab.topology import APP_LABEL, OP_STACK, PUBLIC_INGRESS, RATE_LIMIT_ANNOTATION

Obj = dict[str, Any]
TICK_SECONDS = 1.0


def pod_ready(pod: Obj) -> bool:
    for condition in pod.get("status", {}).get("conditions", []):
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def pod_env(pod: Obj) -> dict[str, str]:
    containers = pod.get("spec", {}).get("containers", [])
    return {e["name"]: str(e.get("value", "")) for c in containers[:1] for e in c.get("env", [])}


@dataclass
class LabWorld:
    cluster: Cluster
    stack: SimStack
    deployment: L1Deployment
    l1_url: str
    l2_url: str
    l1_primary: RpcProxy
    l1_backup: RpcProxy
    reth: RpcProxy
    reth_load: RethLoad
    faults: FaultState = field(default_factory=FaultState)
    service_urls: dict[str, str] = field(default_factory=dict)  # in-cluster URL -> loopback URL
    background: list[asyncio.Task[None]] = field(default_factory=list)
    behaviour: Any = None  # PodBehaviour, set once the world exists
    _sync_scheduled: bool = False

    @property
    def conditions(self) -> Conditions:
        return self.stack.conditions

    def pods(self, app: str, namespace: str = OP_STACK) -> list[Obj]:
        return list(self.cluster.list("Pod", namespace, label_selector=f"{APP_LABEL}={app}"))

    def ready_pods(self, app: str, namespace: str = OP_STACK) -> list[Obj]:
        ready = [p for p in self.pods(app, namespace) if pod_ready(p) and not p["metadata"].get("deletionTimestamp")]
        return sorted(ready, key=lambda p: str(p["metadata"].get("creationTimestamp", "")))

    def translate(self, env: dict[str, str]) -> dict[str, str]:
        return {k: self.service_urls.get(v, v) for k, v in env.items()}

    def sync(self) -> None:
        """Make the simulators' conditions follow the cluster (called on every change and every tick)."""
        self._sync_scheduled = False
        c = self.conditions
        self._follow("op-node", apply_op_node_env, "op_node_ready")
        self._follow("op-batcher", apply_batcher_env, "batcher_running")
        self._follow("op-proposer", apply_proposer_env, "proposer_running")
        proposers = self.ready_pods("op-proposer")
        c.proposer_can_reach_op_node = bool(proposers) and not self.faults.partitions(proposers[-1])
        c.eigenda_healthy = bool(self.ready_pods("eigenda-proxy")) and "eigenda-down" not in self.faults.active
        c.bad_block_at = self.faults.bad_block_at
        self.reth_load.replicas = self.public_rpc_backends()
        self.reth.rate_limit_per_minute = self.public_rpc_rate_limit()
        self.reth_load.load = 1350.0 if "rpc-overload" in self.faults.active else 0.0
        indexer_up = bool(self.ready_pods("subsquid", "indexer"))
        self.reth.extra_latency_ms = 1500.0 if "indexer-db-slow" in self.faults.active and indexer_up else 0.0

    def cluster_uid(self) -> str:
        """The double's identity as a real cluster has it: its kube-system namespace's UID (new each lab up)."""
        namespace = self.cluster.find("Namespace", "kube-system")
        return str(((namespace or {}).get("metadata") or {}).get("uid", ""))

    def _public_ingress(self) -> Obj | None:
        return self.cluster.find("Ingress", PUBLIC_INGRESS, OP_STACK)

    def public_rpc_backends(self) -> int:
        """What serves the public RPC, as on a cluster: the Ingress's backend Service's Ready endpoints."""
        ingress = self._public_ingress()
        if ingress is None:
            return 0
        paths = [p for r in ingress.get("spec", {}).get("rules", []) for p in r.get("http", {}).get("paths", [])]
        service = ((paths[0].get("backend") or {}).get("service") or {}).get("name", "") if paths else ""
        endpoints = self.cluster.find("Endpoints", service, OP_STACK) if service else None
        return sum(len(s.get("addresses") or []) for s in (endpoints or {}).get("subsets") or [])

    def public_rpc_rate_limit(self) -> float | None:
        """ingress-nginx's limit-rpm on the public Ingress (requests per minute per client), None without one."""
        annotations = ((self._public_ingress() or {}).get("metadata") or {}).get("annotations") or {}
        value = annotations.get(RATE_LIMIT_ANNOTATION)
        try:
            return float(value) if value not in (None, "") else None
        except ValueError:
            return None

    def _follow(self, app: str, apply: Callable[[Conditions, dict[str, str]], None], flag: str) -> None:
        ready = self.ready_pods(app)
        setattr(self.conditions, flag, bool(ready))
        if ready:
            apply(self.conditions, self.translate(pod_env(ready[-1])))

    def schedule_sync(self, _change: str = "", _obj: Obj | None = None) -> None:
        if not self._sync_scheduled:
            self._sync_scheduled = True
            asyncio.get_running_loop().call_soon(self.sync)

    def route_log(self, component: str, line: str) -> None:
        """A simulator's log line goes to every running pod of its Deployment."""
        for pod in self.pods(component):
            if pod.get("status", {}).get("phase") == "Running":
                self.cluster.append_log(OP_STACK, pod["metadata"]["name"], line)

    async def tick_forever(self, on_tick: Callable[[], Awaitable[None]]) -> None:
        while True:
            with contextlib.suppress(Exception):
                await on_tick()
                self.cluster.refresh()
                self.sync()
            await asyncio.sleep(TICK_SECONDS)

    async def stop(self) -> None:
        for task in self.background:
            task.cancel()
        for task in self.background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.background.clear()
