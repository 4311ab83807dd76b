"""The cluster's metrics as a real cluster's Prometheus sees them, read from the Kubernetes double:

- kube-state-metrics (job `kube-state-metrics`): pod and container status, restarts, last termination reason,
  resource limits, Deployment replicas, PVC phase;
- the kubelet's cAdvisor (job `kubelet-cadvisor`, path /metrics/cadvisor): container CPU and memory;
- the kubelet (job `kubelet`, path /metrics): volume stats of the PVCs.

Names and labels follow kube-state-metrics v2, cAdvisor and the kubelet (docs/metrics.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from jeju_lab.sim.metrics import MetricsEndpoint

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

Obj = dict[str, Any]
POD_LABELS = ["namespace", "pod", "uid"]
CONTAINER_LABELS = [*POD_LABELS, "container"]
PVC_PHASES = ("Pending", "Bound", "Lost")


class Usage(Protocol):
    """A container's usage as the double's metrics hook gives it (kube_double.ContainerUsage)."""

    @property
    def cpu_millicores(self) -> int: ...

    @property
    def memory_bytes(self) -> int: ...


UsageOf = Callable[[Obj, str], Usage | None]
VolumeUsedFraction = Callable[[str, str], float | None]  # (namespace, claim) -> used fraction of its capacity


def quantity(value: str) -> float:
    """A Kubernetes quantity ("2Gi", "500m", "4") as a number (bytes or cores)."""
    from kubernetes.utils.quantity import parse_quantity

    return float(parse_quantity(value or "0"))  # type: ignore[no-untyped-call]


def _meta(obj: Obj) -> tuple[str, str, str]:
    meta = obj.get("metadata", {})
    return str(meta.get("namespace", "")), str(meta.get("name", "")), str(meta.get("uid", ""))


class KubeStateCollector(Collector):
    def __init__(self, pods: Callable[[], list[Obj]], deployments: Callable[[], list[Obj]],
                 claims: Callable[[], list[Obj]]) -> None:
        self.pods, self.deployments, self.claims = pods, deployments, claims

    def collect(self) -> Iterable[Metric]:
        restarts = CounterMetricFamily("kube_pod_container_status_restarts", "The number of container restarts "
                                       "per container.", labels=CONTAINER_LABELS)
        last_reason = GaugeMetricFamily("kube_pod_container_status_last_terminated_reason", "Describes the last "
                                        "reason the container was in terminated state.",
                                        labels=[*CONTAINER_LABELS, "reason"])
        waiting = GaugeMetricFamily("kube_pod_container_status_waiting_reason", "Describes the reason the "
                                    "container is currently in waiting state.", labels=[*CONTAINER_LABELS, "reason"])
        ready = GaugeMetricFamily("kube_pod_container_status_ready", "Describes whether the containers readiness "
                                  "check succeeded.", labels=CONTAINER_LABELS)
        limits = GaugeMetricFamily("kube_pod_container_resource_limits", "The number of requested limit resource "
                                   "by a container.", labels=[*CONTAINER_LABELS, "node", "resource", "unit"])
        pod_ready = GaugeMetricFamily("kube_pod_status_ready", "Describes whether the pod is ready to serve "
                                      "requests.", labels=[*POD_LABELS, "condition"])
        phase = GaugeMetricFamily("kube_pod_status_phase", "The pods current phase.", labels=[*POD_LABELS, "phase"])
        for pod in self.pods():
            ids = list(_meta(pod))
            status = pod.get("status") or {}
            is_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                           for c in status.get("conditions") or [])
            for condition in ("true", "false"):
                pod_ready.add_metric([*ids, condition], float(is_ready == (condition == "true")))
            current = str(status.get("phase", "Pending"))
            for name in ("Pending", "Running", "Succeeded", "Failed", "Unknown"):
                phase.add_metric([*ids, name], float(name == current))
            for item in status.get("containerStatuses") or []:
                labels = [*ids, str(item["name"])]
                restarts.add_metric(labels, int(item.get("restartCount", 0)))
                ready.add_metric(labels, float(bool(item.get("ready"))))
                terminated = (item.get("lastState") or {}).get("terminated")
                if terminated and terminated.get("reason"):
                    last_reason.add_metric([*labels, str(terminated["reason"])], 1)
                reason = ((item.get("state") or {}).get("waiting") or {}).get("reason")
                if reason:
                    waiting.add_metric([*labels, str(reason)], 1)
            node = str(pod.get("spec", {}).get("nodeName") or "")
            for container in pod.get("spec", {}).get("containers") or []:
                for resource, value in (container.get("resources", {}).get("limits") or {}).items():
                    unit = "core" if resource == "cpu" else "byte"
                    limits.add_metric([*ids, container["name"], node, resource, unit], quantity(str(value)))
        yield from (restarts, last_reason, waiting, ready, limits, pod_ready, phase)
        yield from self._deployments()
        yield from self._claims()

    def _deployments(self) -> Iterable[Metric]:
        spec = GaugeMetricFamily("kube_deployment_spec_replicas", "Number of desired pods for a deployment.",
                                 labels=["namespace", "deployment"])
        available = GaugeMetricFamily("kube_deployment_status_replicas_available", "The number of available "
                                      "replicas per deployment.", labels=["namespace", "deployment"])
        for deployment in self.deployments():
            namespace, name, _ = _meta(deployment)
            spec.add_metric([namespace, name], int(deployment.get("spec", {}).get("replicas", 1)))
            available.add_metric([namespace, name], int((deployment.get("status") or {}).get("availableReplicas", 0)))
        return [spec, available]

    def _claims(self) -> Iterable[Metric]:
        phase = GaugeMetricFamily("kube_persistentvolumeclaim_status_phase", "The phase the persistent volume "
                                  "claim is currently in.", labels=["namespace", "persistentvolumeclaim", "phase"])
        for claim in self.claims():
            namespace, name, _ = _meta(claim)
            current = str((claim.get("status") or {}).get("phase", "Pending"))
            for name_of_phase in PVC_PHASES:
                phase.add_metric([namespace, name, name_of_phase], float(current == name_of_phase))
        return [phase]


class CadvisorCollector(Collector):
    """container_cpu_usage_seconds_total (integrated from the usage hook) and container_memory_working_set_bytes."""

    def __init__(self, pods: Callable[[], list[Obj]], usage: UsageOf) -> None:
        self.pods, self.usage = pods, usage
        self.cpu_seconds: dict[tuple[str, str], tuple[float, float]] = {}  # (uid, container) -> (total, at)

    def collect(self) -> Iterable[Metric]:
        labels = ["container", "id", "image", "name", "namespace", "pod"]
        cpu = CounterMetricFamily("container_cpu_usage_seconds", "Cumulative cpu time consumed in seconds.",
                                  labels=[*labels, "cpu"])
        memory = GaugeMetricFamily("container_memory_working_set_bytes", "Current working set in bytes.",
                                   labels=labels)
        now = time.monotonic()
        for pod in self.pods():
            if (pod.get("status") or {}).get("phase") != "Running":
                continue  # no running container, no cgroup
            namespace, name, uid = _meta(pod)
            restarts = {c["name"]: int(c.get("restartCount", 0))
                        for c in (pod.get("status") or {}).get("containerStatuses") or []}
            for container in pod.get("spec", {}).get("containers") or []:
                used = self.usage(pod, container["name"])
                if used is None:
                    continue
                cname = container["name"]
                cgroup = f"/kubepods/burstable/pod{uid}/{cname}"
                docker_name = f"k8s_{cname}_{name}_{namespace}_{uid}_{restarts.get(cname, 0)}"
                ids = [cname, cgroup, str(container.get("image", "")), docker_name, namespace, name]
                total, at = self.cpu_seconds.get((uid, cname), (0.0, now))
                total += used.cpu_millicores / 1000 * (now - at)
                self.cpu_seconds[(uid, cname)] = (total, now)
                cpu.add_metric([*ids, "total"], total)
                memory.add_metric(ids, used.memory_bytes)
        return [cpu, memory]


class KubeletCollector(Collector):
    """kubelet_volume_stats_{capacity,used,available}_bytes of every bound PVC."""

    def __init__(self, claims: Callable[[], list[Obj]], used_fraction: VolumeUsedFraction) -> None:
        self.claims, self.used_fraction = claims, used_fraction

    def collect(self) -> Iterable[Metric]:
        labels = ["namespace", "persistentvolumeclaim"]
        families = {key: GaugeMetricFamily(f"kubelet_volume_stats_{key}_bytes", f"Number of {key} bytes in the "
                                           "volume", labels=labels) for key in ("capacity", "used", "available")}
        for claim in self.claims():
            namespace, name, _ = _meta(claim)
            status = claim.get("status") or {}
            fraction = self.used_fraction(namespace, name)
            if status.get("phase") != "Bound" or fraction is None:
                continue
            capacity = quantity(str((status.get("capacity") or {}).get("storage", "0")))
            used = capacity * fraction
            for key, value in (("capacity", capacity), ("used", used), ("available", capacity - used)):
                families[key].add_metric([namespace, name], value)
        return list(families.values())


class ClusterMetrics:
    """The three endpoints (kube-state-metrics, cAdvisor, kubelet) on one loopback port, always listening."""

    paths = {"kube-state-metrics": "/metrics/kube-state-metrics", "kubelet-cadvisor": "/metrics/cadvisor",
             "kubelet": "/metrics"}

    def __init__(self, pods: Callable[[], list[Obj]], deployments: Callable[[], list[Obj]],
                 claims: Callable[[], list[Obj]], usage: UsageOf, used_fraction: VolumeUsedFraction) -> None:
        collectors: dict[str, Collector] = {
            "kube-state-metrics": KubeStateCollector(pods, deployments, claims),
            "kubelet-cadvisor": CadvisorCollector(pods, usage),
            "kubelet": KubeletCollector(claims, used_fraction),
        }
        self.registries: dict[str, CollectorRegistry] = {}
        for job, collector in collectors.items():
            registry = CollectorRegistry(auto_describe=False)
            registry.register(collector)
            self.registries[job] = registry
        self.endpoint = MetricsEndpoint(self.registries["kubelet"])
        for job in ("kube-state-metrics", "kubelet-cadvisor"):
            self.endpoint.serve_also(self.paths[job], self.registries[job])

    @property
    def address(self) -> str:
        return self.endpoint.address

    async def start(self) -> ClusterMetrics:
        await self.endpoint.start()
        return self

    async def stop(self) -> None:
        await self.endpoint.stop()
