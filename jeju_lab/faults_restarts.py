"""sequencer-restarts' faults: op-node restarts every few seconds while blocks still flow.

Between two restarts op-node is Ready and seals blocks (the simulators follow the Ready pods), so the chain
moves on. What shows is what a cluster shows: the container's restartCount growing, its last termination's reason
and exit code, the kubelet's events, and the line each crash leaves in the log:

- sequencer-oom-restarts: OOMKilled (exit 137) while op-node's memory limit is under 4Gi;
- liveness-probe-failing: the kubelet kills a healthy op-node (exit 137) because its liveness probe times out:
  op-node's health endpoint answers in 2 s and the probe allows 1 s (events Unhealthy and Killing);
- l1-rpc-flapping: the primary L1 RPC answers 502 for one second in every four; op-node pointed at it dies at
  start-up on the L1 error (exit 1), the backup L1 RPC is sound;
- sequencer-panics: the op-node pods that ran at the break panic now and then with an error nobody knows (exit 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jeju_lab.faults_state import OOM_NEEDS_BYTES, memory_bytes, uid_of
from jeju_lab.kube_double import PodHealth
from jeju_lab.sim import ProxyMode
from jeju_lab.sim import conditions as env_names
from jeju_lab.sim.logfmt import format_line
from jeju_lab.topology import OP_STACK

if TYPE_CHECKING:
    from jeju_lab.world import LabWorld

Obj = dict[str, Any]
RESTART_EVERY_SECONDS = 4.0
PROBE_ANSWERS_IN_SECONDS = 2  # liveness-probe-failing: a probe timeout above this holds
FLAP_EVERY_SECONDS = 4.0
FLAP_DOWN_SECONDS = 1.0
OOM = "sequencer-oom-restarts"
LIVENESS = "liveness-probe-failing"
FLAPPING = "l1-rpc-flapping"
PANICS = "sequencer-panics"
SETTLE_SECONDS = 9.0  # two restarts at least before a drill runs the playbook
_FLAPPERS: dict[int, asyncio.Task[None]] = {}


@dataclass(frozen=True)
class Restart:
    fault: str
    reason: str
    exit_code: int
    lines: Callable[[Obj], list[str]]
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)


def _container(pod: Obj) -> Obj:
    containers: list[Obj] = (pod.get("spec") or {}).get("containers") or [{}]
    return containers[0]


def _restart_count(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return int(statuses[0].get("restartCount", 0))


def _probe_timeout(pod: Obj) -> int:
    probe = _container(pod).get("livenessProbe")
    return int(probe.get("timeoutSeconds", 1)) if probe else PROBE_ANSWERS_IN_SECONDS + 1


def _l1_url(pod: Obj) -> str:
    env = {e.get("name"): e.get("value") for e in _container(pod).get("env") or []}
    return str(env.get(env_names.OP_NODE_L1_ETH_RPC, ""))


def _oom_lines(pod: Obj) -> list[str]:
    limit = (_container(pod).get("resources") or {}).get("limits", {}).get("memory", "")
    return [format_line("crit", "Failed to allocate block cache", {"err": "runtime: out of memory", "limit": limit})]


def _liveness_lines(_pod: Obj) -> list[str]:
    return [format_line("info", "Received signal, shutting down", {"signal": "terminated"})]


def _flapping_lines(_pod: Obj) -> list[str]:
    return [format_line("crit", "Failed to start op-node", {
        "err": "failed to get L1 chain ID: 502 Bad Gateway: the L1 RPC is unavailable"})]


def _panic_lines(_pod: Obj) -> list[str]:
    return [format_line("crit", "Application failed",
                        {"err": "panic: runtime error: index out of range [3] with length 3"})]


def restarting(world: LabWorld, pod: Obj) -> Restart | None:
    """Why this op-node pod restarts now, under the active faults (None: it does not)."""
    faults = world.faults
    limit = (_container(pod).get("resources") or {}).get("limits", {}).get("memory", "0")
    if OOM in faults.active and memory_bytes(str(limit)) < OOM_NEEDS_BYTES:
        return Restart(OOM, "OOMKilled", 137, _oom_lines)
    if LIVENESS in faults.active and _probe_timeout(pod) <= PROBE_ANSWERS_IN_SECONDS:
        ip = (pod.get("status") or {}).get("podIP", "10.0.0.1")
        return Restart(LIVENESS, "Error", 137, _liveness_lines, [
            ("Warning", "Unhealthy", f'Liveness probe failed: Get "http://{ip}:9545/healthz": context deadline '
                                     "exceeded (Client.Timeout exceeded while awaiting headers)"),
            ("Normal", "Killing", "Container op-node failed liveness probe, will be restarted")])
    if FLAPPING in faults.active and _l1_url(pod) == world.l1_primary.url:
        return Restart(FLAPPING, "Error", 1, _flapping_lines)
    if PANICS in faults.active and uid_of(pod) in faults.panicking_pods:
        return Restart(PANICS, "Error", 2, _panic_lines)
    return None


def health(world: LabWorld, pod: Obj) -> PodHealth | None:
    """Ready between restarts; the restart count grows by one every RESTART_EVERY_SECONDS."""
    cause = restarting(world, pod)
    if cause is None:
        return None
    base = world.faults.restart_base.setdefault(uid_of(pod), _restart_count(pod))
    count = base + int((time.time() - world.faults.since(cause.fault, pod)) / RESTART_EVERY_SECONDS)
    if count <= base:
        return None
    return PodHealth(ready=True, phase="Running", last_terminated_reason=cause.reason,
                     last_exit_code=cause.exit_code, restart_count=count)


def tick(world: LabWorld) -> None:
    """Each restart leaves its log line and the kubelet's events, once."""
    faults = world.faults
    for pod in world.pods("op-node"):
        cause = restarting(world, pod)
        if cause is None:
            continue
        uid, count = uid_of(pod), _restart_count(pod)
        if count <= faults.restart_seen.get(uid, faults.restart_base.get(uid, count)):
            continue
        faults.restart_seen[uid] = count
        for line in cause.lines(pod):
            world.cluster.append_log(OP_STACK, pod["metadata"]["name"], line)
        for kind, reason, message in cause.events:
            world.cluster.record_event(pod, reason, message, type=kind, component="kubelet")


def _forget(world: LabWorld) -> None:
    world.faults.restart_base.clear()
    world.faults.restart_seen.clear()


async def break_restarts(world: LabWorld) -> None:
    _forget(world)


async def heal_restarts(world: LabWorld) -> None:
    _forget(world)


async def _flap(world: LabWorld) -> None:
    while True:
        await world.l1_primary.set_mode(ProxyMode.BAD_GATEWAY)
        await asyncio.sleep(FLAP_DOWN_SECONDS)
        await world.l1_primary.set_mode(ProxyMode.HEALTHY)
        await asyncio.sleep(FLAP_EVERY_SECONDS - FLAP_DOWN_SECONDS)


async def break_flapping(world: LabWorld) -> None:
    _forget(world)
    if id(world) not in _FLAPPERS:
        _FLAPPERS[id(world)] = asyncio.create_task(_flap(world), name="lab-l1-flapping")


async def heal_flapping(world: LabWorld) -> None:
    task = _FLAPPERS.pop(id(world), None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await world.l1_primary.set_mode(ProxyMode.HEALTHY)
    _forget(world)


async def break_panics(world: LabWorld) -> None:
    _forget(world)
    world.faults.panicking_pods = {uid_of(p) for p in world.pods("op-node")}


async def heal_panics(world: LabWorld) -> None:
    world.faults.panicking_pods.clear()
    _forget(world)
