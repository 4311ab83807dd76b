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


def created_at(obj: dict[str, Any]) -> float:
    stamp = str(obj.get("metadata", {}).get("creationTimestamp", ""))
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


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
    crash_before: float | None = None  # op-node pods created before this crash-loop
    partition_before: float | None = None  # op-proposer pods created before this cannot reach op-node
    corrupt_pvc_uids: set[str] = field(default_factory=set)
    lost_node: str | None = None
    disk_percent: int = DISK_NORMAL_PERCENT  # reth's /var/log volume
    gas_spike_wei: int | None = None
    drained_wei: int = 0
    drain_attempts: int = 0
    conflicting_index: int | None = None

    def mark(self, name: str) -> None:
        self.active[name] = time.time()

    def partitions(self, proposer_pod: dict[str, Any]) -> bool:
        return self.partition_before is not None and created_at(proposer_pod) <= self.partition_before

    def crashes(self, op_node_pod: dict[str, Any]) -> bool:
        return self.crash_before is not None and created_at(op_node_pod) <= self.crash_before

    def out_of_memory(self, op_node_pod: dict[str, Any]) -> bool:
        if "sequencer-oom" not in self.active:
            return False
        containers = op_node_pod.get("spec", {}).get("containers", [])
        limit = containers[0].get("resources", {}).get("limits", {}).get("memory", "0") if containers else "0"
        return memory_bytes(str(limit)) < OOM_NEEDS_BYTES

    def summary(self) -> dict[str, Any]:
        return {"active": sorted(self.active), "bad_block_at": self.bad_block_at, "lost_node": self.lost_node,
                "disk_percent": self.disk_percent, "drained_wei": self.drained_wei}
