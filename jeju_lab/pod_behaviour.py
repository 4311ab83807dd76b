"""How the lab's pods look and answer under the faults: health, crash logs, exec commands and metrics."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jeju_lab import faults_restarts
from jeju_lab.faults_state import DISK_AFTER_CLEANUP_PERCENT
from jeju_lab.kube_double import ContainerUsage, PodHealth
from jeju_lab.sim.logfmt import format_line
from jeju_lab.topology import APP_LABEL, OP_STACK

if TYPE_CHECKING:
    from jeju_lab.world import LabWorld

Obj = dict[str, Any]
RESTART_EVERY_SECONDS = 5.0  # CrashLoopBackOff at lab speed: a restart every few seconds
OVERLOAD_MILLICORES = 3050  # reth's extra CPU under rpc-overload, shared by its Ready replicas
OVERLOAD_MEMORY_BYTES = 2 * 1024**3  # reth's extra memory (connections) under rpc-overload, shared too
RETH_BLOATED_MEMORY_BYTES = 7 * 1024**3 + 512 * 1024**2  # 7.5Gi of reth's 8Gi limit: 94 %


def app_of(pod: Obj) -> str:
    return str(pod.get("metadata", {}).get("labels", {}).get(APP_LABEL, ""))


def _limit(pod: Obj) -> str:
    containers = pod.get("spec", {}).get("containers", [])
    return str(containers[0].get("resources", {}).get("limits", {}).get("memory", "")) if containers else ""


def claim_names(pod: Obj) -> list[str]:
    return [v["persistentVolumeClaim"]["claimName"] for v in pod.get("spec", {}).get("volumes", [])
            if "persistentVolumeClaim" in v]


class PodBehaviour:
    def __init__(self, world: LabWorld):
        self.world = world

    def _crash_loop(self, pod: Obj, reason: str, fault: str) -> PodHealth:
        restarts = 1 + int((time.time() - self.world.faults.since(fault, pod)) / RESTART_EVERY_SECONDS)
        return PodHealth(ready=False, phase="Running", waiting_reason="CrashLoopBackOff",
                         waiting_message=f"back-off restarting failed container {app_of(pod)} in pod "
                                         f"{pod['metadata']['name']}",
                         last_terminated_reason=reason, last_exit_code=137 if reason == "OOMKilled" else 1,
                         restart_count=restarts)

    def corrupt_volume(self, pod: Obj) -> bool:
        """Under a corrupt-volume fault: a claim of the pod is the corrupt volume itself (by uid), or is missing.
        A volume restored from a snapshot into a new claim is sound."""
        corrupt = self.world.faults.corrupt_pvc_uids
        if not corrupt:
            return False
        namespace = pod["metadata"].get("namespace", OP_STACK)
        for claim in claim_names(pod):
            pvc = self.world.cluster.find("PersistentVolumeClaim", claim, namespace)
            if pvc is None or pvc["metadata"].get("uid") in corrupt:
                return True
        return False

    def volume_holder(self, pod: Obj) -> str | None:
        """Under restart-stuck: the crash-looping pod that keeps the ReadWriteOnce data volume from `pod`."""
        faults = self.world.faults
        if not faults.volume_held or faults.crashes(pod):
            return None
        holders = [p["metadata"]["name"] for p in self.world.pods("op-node") if faults.crashes(p)]
        return holders[0] if holders else None

    def health(self, pod: Obj) -> PodHealth | None:
        faults = self.world.faults
        if app_of(pod) == "reth":
            if faults.reth_out_of_memory(pod):
                return self._crash_loop(pod, "OOMKilled", "reth-oom")
            if faults.crashes(pod):
                return self._crash_loop(pod, "Error", "reth-crash")
            if faults.disk_exhausted():  # running, but its readiness probe fails: it cannot write
                return PodHealth(ready=False, phase="Running")
            return self._crash_loop(pod, "Error", "reth-volume-corrupt") if self.corrupt_volume(pod) else None
        if app_of(pod) != "op-node":
            return None
        if faults.out_of_memory(pod):
            return self._crash_loop(pod, "OOMKilled", "sequencer-oom")
        if faults.crashes(pod):
            return self._crash_loop(pod, "Error", "sequencer-crash")
        if faults.broken_release(pod):
            return self._crash_loop(pod, "Error", "bad-deploy")
        holder = self.volume_holder(pod)
        if holder:
            return PodHealth(ready=False, phase="Pending", waiting_reason="ContainerCreating",
                             waiting_message=f"volume {', '.join(claim_names(pod))} is attached to pod {holder}")
        if self.corrupt_volume(pod):
            return self._crash_loop(pod, "Error", "pvc-corrupt")
        return faults_restarts.health(self.world, pod)

    def crash_logs(self) -> None:
        """Each tick, crash-looping pods log why they died, as the real ones do on their way down."""
        faults_restarts.tick(self.world)
        for pod in self.world.pods("reth"):
            if self.corrupt_volume(pod):
                self.world.cluster.append_log(OP_STACK, pod["metadata"]["name"], format_line(
                    "error", "Database error", {"err": "MDBX_CORRUPTED: Database is corrupted",
                                                "path": "/data/db/mdbx.dat"}))
            elif self.world.faults.reth_out_of_memory(pod):
                self.world.cluster.append_log(OP_STACK, pod["metadata"]["name"], format_line(
                    "error", "Failed to grow the database cache", {"err": "memory allocation of 2147483648 bytes "
                                                                          "failed", "limit": _limit(pod)}))
            elif self.world.faults.crashes(pod):
                self.world.cluster.append_log(OP_STACK, pod["metadata"]["name"], format_line(
                    "error", "reth panicked", {"err": "thread 'tokio-runtime-worker' panicked at "
                                                      "'called `Option::unwrap()` on a `None` value'"}))
            elif self.world.faults.disk_exhausted():
                self.world.cluster.append_log(OP_STACK, pod["metadata"]["name"], format_line(
                    "error", "Failed to write the log file", {"err": "No space left on device (os error 28)",
                                                              "path": "/var/log/reth/reth.log"}))
        for pod in self.world.pods("op-node"):
            health = self.health(pod)
            if health is None or health.ready:  # restarting while Ready: faults_restarts.tick logs each restart
                continue
            name = pod["metadata"]["name"]
            if health.waiting_reason == "ContainerCreating":
                self._warn_attach(pod, health)
                continue
            if health.last_terminated_reason == "OOMKilled":
                line = format_line("crit", "Failed to allocate block cache",
                                   {"err": "runtime: out of memory", "limit": "2Gi"})
            elif self.corrupt_volume(pod):
                line = format_line("crit", "Failed to open safe database",
                                   {"err": "leveldb/table: corruption on data-block (pos=48213): checksum mismatch",
                                    "path": "/data/safedb"})
            else:
                line = format_line("crit", "Application failed",
                                   {"err": "panic: runtime error: invalid memory address or nil pointer dereference"})
            self.world.cluster.append_log(OP_STACK, name, line)

    def _warn_attach(self, pod: Obj, health: PodHealth) -> None:
        uid = str(pod["metadata"].get("uid", ""))
        if uid in self.world.faults.attach_warned:
            return
        self.world.faults.attach_warned.add(uid)
        self.world.cluster.record_event(
            pod, "FailedAttachVolume", f"Multi-Attach error: {health.waiting_message}", type="Warning",
            component="attachdetach-controller")

    def exec(self, namespace: str, pod: str, container: str, argv: list[str]) -> tuple[int, str, str]:
        command = " ".join(argv[2:] if argv[:2] == ["sh", "-c"] else argv).strip()
        faults = self.world.faults
        if command.startswith("df"):
            used = faults.disk_percent
            return 0, ("Filesystem      Size  Used Avail Use% Mounted on\n"
                       f"overlay          50G   {used // 2}G   {50 - used // 2}G  {used}% /var/log\n"
                       "/dev/nvme1n1   2.0T  1.1T  900G  55% /data\n"), ""
        if command.startswith("du -sh /var/log"):
            old = "31G" if faults.disk_percent > DISK_AFTER_CLEANUP_PERCENT else "0"
            return 0, f"{old}\t/var/log/reth-archive\n12G\t/var/log/reth\n1.2G\t/var/log/nginx\n", ""
        if command.startswith("find /var/log") and "-mtime +7" in command and "-delete" in command:
            faults.disk_percent = min(faults.disk_percent, DISK_AFTER_CLEANUP_PERCENT)
            return 0, "", ""
        if "netstat" in command:
            count = 4810 if "rpc-overload" in faults.active else 118
            return 0, f"{count}\n", ""
        if command.startswith("curl"):
            return self._curl(command)
        return 126, "", f"`{command}` is not available in the lab (pod {namespace}/{pod}, container {container})\n"

    def _curl(self, command: str) -> tuple[int, str, str]:
        conditions = self.world.conditions
        if "op-node:9545" in command:
            if conditions.op_node_ready and conditions.proposer_can_reach_op_node:
                return 0, '{"version":"v1.13.0"}\n', ""
            return 28, "", "curl: (28) Failed to connect to op-node port 9545 after 10001 ms: Timeout was reached\n"
        if "op-node:" in command:
            return 7, "", "curl: (7) Failed to connect to op-node port 8547: Connection refused\n"
        return 6, "", "curl: (6) Could not resolve host in the lab\n"

    def usage(self, pod: Obj, container: str) -> ContainerUsage | None:
        app = app_of(pod)
        faults = self.world.faults
        if app == "reth":
            if faults.reth_bloated(pod):
                return ContainerUsage(cpu_millicores=850, memory_bytes=RETH_BLOATED_MEMORY_BYTES)
            if "rpc-overload" not in faults.active:
                return ContainerUsage(cpu_millicores=850, memory_bytes=5 * 1024**3)
            replicas = max(1, len(self.world.ready_pods("reth")))  # the load spreads over the replicas
            return ContainerUsage(cpu_millicores=850 + OVERLOAD_MILLICORES // replicas,
                                  memory_bytes=5 * 1024**3 + OVERLOAD_MEMORY_BYTES // replicas)
        if app == "op-node":
            oom = faults.out_of_memory(pod)
            return ContainerUsage(cpu_millicores=400, memory_bytes=(2 * 1024 - 20 if oom else 900) * 1024**2)
        return ContainerUsage(cpu_millicores=120, memory_bytes=256 * 1024**2)
