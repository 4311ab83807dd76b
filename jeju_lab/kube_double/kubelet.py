"""The kubelet's side of deleting a pod: its containers get SIGTERM and the pod goes once they stopped.

A container stops `stop_seconds` after SIGTERM (a process that handles it), or only when the grace period ends
and SIGKILL comes: what happens to a shell or `sleep` running as PID 1, which has no handler for SIGTERM
(`command: [sh, -c, ...]`, `[sleep, "600"]`). A container that never started stops at once. A termination
hook can say otherwise for a pod. Pods on a node that is not Ready are removed at once by default (see
`Cluster(unreachable_pods_linger=...)`): a real kubelet that is gone never confirms, and such pods stay Terminating
until force-deleted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jeju_lab.kube_double.resources import NODE, POD
from jeju_lab.kube_double.scheduler import node_ready

if TYPE_CHECKING:
    from jeju_lab.kube_double.store import Store, Termination

Obj = dict[str, Any]
TerminationHook = Callable[[Obj], float | None]
IGNORE_SIGTERM = frozenset({"sh", "bash", "ash", "dash", "zsh", "sleep", "tail"})


def ignores_sigterm(container: Obj) -> bool:
    """A container whose PID 1 is a shell or sleep: SIGTERM does nothing, only the grace period's SIGKILL."""
    command = container.get("command") or []
    return bool(command) and os.path.basename(str(command[0])) in IGNORE_SIGTERM


def _started(pod: Obj) -> bool:
    return any("running" in (c.get("state") or {}) for c in (pod.get("status") or {}).get("containerStatuses") or [])


class Kubelet:
    def __init__(self, store: Store, stop_seconds: float, *, unreachable_pods_linger: bool = False) -> None:
        self.store = store
        self.stop_seconds = stop_seconds
        self.unreachable_pods_linger = unreachable_pods_linger
        self.termination_hook: TerminationHook | None = None

    def stop_after(self, pod: Obj, termination: Termination) -> float | None:
        """Seconds after the deletion at which the pod's containers have stopped (None: never, its node is lost)."""
        node = self.store.peek(NODE, None, str(pod["spec"].get("nodeName") or ""))
        if node is None or not node_ready(node):
            return None if self.unreachable_pods_linger else 0.0
        if not _started(pod):
            return 0.0
        hooked = self.termination_hook(pod) if self.termination_hook is not None else None
        if hooked is not None:
            return min(hooked, termination.grace_seconds)
        if any(ignores_sigterm(c) for c in pod["spec"].get("containers") or []):
            return termination.grace_seconds
        return min(self.stop_seconds, termination.grace_seconds)

    def finish_terminations(self) -> float | None:
        """Remove the pods whose containers have stopped; returns the seconds until the next one is due."""
        now = self.store.clock()
        next_due: float | None = None
        for uid, termination in list(self.store.terminations.items()):
            pod = next((p for p in self.store.scan(POD) if p["metadata"].get("uid") == uid), None)
            if pod is None:
                self.store.terminations.pop(uid, None)
                continue
            after = self.stop_after(pod, termination)
            if after is None:
                continue
            due = termination.started + after
            if now < due:
                next_due = min(next_due if next_due is not None else due - now, due - now)
                continue
            self.store.terminations.pop(uid, None)
            meta = pod["metadata"]
            if not meta.get("finalizers"):
                self.store.remove(POD, meta.get("namespace"), meta["name"])
        return next_due
