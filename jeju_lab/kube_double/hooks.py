"""What simulators hand the cluster: pod health, container usage, exec answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class PodHealth:
    """How a pod should look, as returned by the pod health hook (None from the hook means healthy).

    ready: the Ready condition and every container's `ready`.
    phase: pod phase (Running, Pending, Failed, Succeeded, Unknown).
    waiting_reason: container state `waiting.reason`, e.g. "CrashLoopBackOff" (the container is not running).
    last_terminated_reason: `lastState.terminated.reason`, e.g. "OOMKilled" or "Error".
    last_exit_code: `lastState.terminated.exitCode` (137 for OOMKilled if left None, else 1).
    restart_count: the absolute `restartCount` to show (None keeps the current count).
    containers: which containers this applies to (None: all of them).
    """

    ready: bool = True
    phase: str = "Running"
    waiting_reason: str | None = None
    waiting_message: str | None = None
    last_terminated_reason: str | None = None
    last_exit_code: int | None = None
    restart_count: int | None = None
    containers: tuple[str, ...] | None = None

    def applies_to(self, container: str) -> bool:
        return self.containers is None or container in self.containers


@dataclass(frozen=True)
class ContainerUsage:
    """One container's usage for metrics.k8s.io (what `kubectl top pods` shows)."""

    cpu_millicores: int = 5
    memory_bytes: int = 64 * 1024 * 1024


ExecResult = tuple[int, str | bytes, str | bytes]
PodHealthHook = Callable[[Obj], PodHealth | None]
ExecHandler = Callable[[str, str, str, list[str]], ExecResult | Awaitable[ExecResult]]
MetricsHook = Callable[[Obj, str], ContainerUsage | None]


def default_exec_handler(namespace: str, pod: str, container: str, argv: list[str]) -> ExecResult:
    message = (
        f"exec is not available in the lab: pod {namespace}/{pod} container {container} cannot run {argv!r}; "
        "a simulator can answer it through Cluster.set_exec_handler\n"
    )
    return 126, "", message


def default_metrics_hook(pod: Obj, container: str) -> ContainerUsage | None:
    return ContainerUsage()
