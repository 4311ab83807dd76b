"""What the active faults hold, read by the pod behaviour and the simulators' conditions."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GIB = 1024**3
RETH_OOM_NEEDS_BYTES = 10 * GIB  # reth-oom: the lab's reth (8Gi) needs one 2Gi step
OOM_NEEDS_BYTES = 4 * GIB  # op-node under the sequencer-oom fault needs more than the seeded 2Gi
DISK_NORMAL_PERCENT = 41
DISK_FULL_PERCENT = 92
DISK_AFTER_CLEANUP_PERCENT = 38
DISK_EXHAUSTED_PERCENT = 100  # reth-disk-full: writes fail, reth stops serving until old logs are deleted
BROKEN_RELEASE_SUFFIX = "-rc.broken"  # bad-deploy: an op-node image tag that crashes at start-up


def created_at(obj: dict[str, Any]) -> float:
    stamp = str(obj.get("metadata", {}).get("creationTimestamp", ""))
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def uid_of(obj: dict[str, Any]) -> str:
    return str(obj.get("metadata", {}).get("uid", ""))


def memory_bytes(quantity: str) -> int:
    """A memory quantity in bytes, by the kubernetes client's parser (the one the playbooks' filters use)."""
    from kubernetes.utils.quantity import parse_quantity

    return int(parse_quantity(quantity or "0"))  # type: ignore[no-untyped-call]


@dataclass
class FaultState:
    active: dict[str, float] = field(default_factory=dict)  # fault -> time it was broken
    bad_block_at: int | None = None
    # uids of the pods that crash-loop: op-node's under sequencer-crash, reth's under reth-crash
    crashing_pods: set[str] = field(default_factory=set)
    volume_held: bool = False  # restart-stuck: crash-looping pods keep op-node's data volume attached
    attach_warned: set[str] = field(default_factory=set)  # uids of pods already given a FailedAttachVolume event
    partitioned_pods: set[str] = field(default_factory=set)  # uids of the op-proposer pods cut off from op-node
    bloated_reth_pods: set[str] = field(default_factory=set)  # reth-memory-high: pods that grew before a restart
    reth_leaks: bool = False  # reth-memory-leak: every reth pod, new ones too, grows past the threshold
    corrupt_pvc_uids: set[str] = field(default_factory=set)
    lost_node: str | None = None
    disk_percent: int = DISK_NORMAL_PERCENT  # reth's /var/log volume
    gas_spike_wei: int | None = None
    drained_wei: int = 0
    drain_attempts: int = 0
    conflicting_index: int | None = None
    error_storm_pods: set[str] = field(default_factory=set)  # errors-elevated: op-node pods logging errors at 10x
    # sequencer-restarts' faults (jeju_lab/faults_restarts.py): per op-node pod uid, its restart count when the
    # fault first touched it and the last restart already logged; the pods that panic (sequencer-panics).
    restart_base: dict[str, int] = field(default_factory=dict)
    restart_seen: dict[str, int] = field(default_factory=dict)
    panicking_pods: set[str] = field(default_factory=set)

    def mark(self, name: str) -> None:
        self.active[name] = time.time()

    def since(self, name: str, pod: dict[str, Any]) -> float:
        """When `pod` started to suffer fault `name`: the later of the break and the pod's creation."""
        return max(self.active.get(name, 0.0), created_at(pod))

    def partitions(self, proposer_pod: dict[str, Any]) -> bool:
        """Only the pods that ran when the partition began: a new pod (a restart) is not partitioned."""
        return uid_of(proposer_pod) in self.partitioned_pods

    def crashes(self, pod: dict[str, Any]) -> bool:
        """Only the pods that ran when the crash began: a new pod (a restart) runs."""
        return uid_of(pod) in self.crashing_pods

    def disk_exhausted(self) -> bool:
        """reth-disk-full: reth's log volume at 100 %; deleting the old logs (high-resource) frees it."""
        return "reth-disk-full" in self.active and self.disk_percent >= DISK_EXHAUSTED_PERCENT

    @staticmethod
    def broken_release(pod: dict[str, Any]) -> bool:
        return any(str(c.get("image", "")).endswith(BROKEN_RELEASE_SUFFIX)
                   for c in pod.get("spec", {}).get("containers", []))

    def reth_bloated(self, reth_pod: dict[str, Any]) -> bool:
        return self.reth_leaks or uid_of(reth_pod) in self.bloated_reth_pods

    def reth_out_of_memory(self, reth_pod: dict[str, Any]) -> bool:
        """reth-oom: reth's state outgrew its memory limit; a limit of RETH_OOM_NEEDS_BYTES or more holds it."""
        if "reth-oom" not in self.active:
            return False
        containers = reth_pod.get("spec", {}).get("containers", [])
        limit = containers[0].get("resources", {}).get("limits", {}).get("memory", "0") if containers else "0"
        return memory_bytes(str(limit)) < RETH_OOM_NEEDS_BYTES

    def out_of_memory(self, op_node_pod: dict[str, Any]) -> bool:
        if "sequencer-oom" not in self.active:
            return False
        containers = op_node_pod.get("spec", {}).get("containers", [])
        limit = containers[0].get("resources", {}).get("limits", {}).get("memory", "0") if containers else "0"
        return memory_bytes(str(limit)) < OOM_NEEDS_BYTES

    def summary(self) -> dict[str, Any]:
        return {"active": sorted(self.active), "bad_block_at": self.bad_block_at, "lost_node": self.lost_node,
                "disk_percent": self.disk_percent, "drained_wei": self.drained_wei}
