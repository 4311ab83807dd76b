"""What the active faults hold, read by the pod behaviour and the simulators' conditions."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GIB = 1024**3
OOM_NEEDS_BYTES = 4 * GIB  # op-node under the sequencer-oom fault needs more than the seeded 2Gi
DISK_NORMAL_PERCENT = 41
DISK_FULL_PERCENT = 92
DISK_AFTER_CLEANUP_PERCENT = 38
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
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": GIB, "Ti": 1024**4, "K": 1000, "M": 10**6, "G": 10**9}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(float(quantity.removesuffix(suffix)) * factor)
    return int(float(quantity or 0))


@dataclass
class FaultState:
    active: dict[str, float] = field(default_factory=dict)  # fault -> time it was broken
    bad_block_at: int | None = None
    crashing_pods: set[str] = field(default_factory=set)  # uids of the op-node pods that crash-loop
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

    def mark(self, name: str) -> None:
        self.active[name] = time.time()

    def since(self, name: str, pod: dict[str, Any]) -> float:
        """When `pod` started to suffer fault `name`: the later of the break and the pod's creation."""
        return max(self.active.get(name, 0.0), created_at(pod))

    def partitions(self, proposer_pod: dict[str, Any]) -> bool:
        """Only the pods that ran when the partition began: a new pod (a restart) is not partitioned."""
        return uid_of(proposer_pod) in self.partitioned_pods

    def crashes(self, op_node_pod: dict[str, Any]) -> bool:
        """Only the pods that ran when the crash began: a new pod (a restart) runs."""
        return uid_of(op_node_pod) in self.crashing_pods

    @staticmethod
    def broken_release(pod: dict[str, Any]) -> bool:
        return any(str(c.get("image", "")).endswith(BROKEN_RELEASE_SUFFIX)
                   for c in pod.get("spec", {}).get("containers", []))

    def reth_bloated(self, reth_pod: dict[str, Any]) -> bool:
        return self.reth_leaks or uid_of(reth_pod) in self.bloated_reth_pods

    def out_of_memory(self, op_node_pod: dict[str, Any]) -> bool:
        if "sequencer-oom" not in self.active:
            return False
        containers = op_node_pod.get("spec", {}).get("containers", [])
        limit = containers[0].get("resources", {}).get("limits", {}).get("memory", "0") if containers else "0"
        return memory_bytes(str(limit)) < OOM_NEEDS_BYTES

    def summary(self) -> dict[str, Any]:
        return {"active": sorted(self.active), "bad_block_at": self.bad_block_at, "lost_node": self.lost_node,
                "disk_percent": self.disk_percent, "drained_wei": self.drained_wei}
