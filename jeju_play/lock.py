"""One remediation per environment at a time: a Kubernetes Lease in the target cluster.

Two on-call engineers paged for the same outage must not patch op-node against each other. A run that may
change things holds the Lease `jeju-play-remediation` in the environment's namespace; a second run is refused
(exit 4) with who holds it. The holder renews it while it runs; a crashed holder's Lease expires.
An incident marked `takes_over_lock` in the catalog (the breach response, which never waits) takes the Lease
over from whoever holds it; the runner then refuses the other run's remaining gates because of the freeze it sets
(jeju_play/guards.py).

A holder that died (SIGKILL, a crash) leaves its Lease until it expires. The Lease carries the holder's host, pid
and run id (annotations), so the next run on the same host sees that the process is gone: it names the dead run
and takes the Lease over only when `confirm_dead` (the runner: a gate, with what that run had done) says yes.
Whoever replaces a dead or expired holder's Lease learns its run id (`replaced_run`) to mark that record.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jeju_play.environments import Environment
from jeju_play.errors import JejuPlayError, Refused

LEASE_NAME = "jeju-play-remediation"
DEFAULT_LEASE_SECONDS = 120
ANNOTATION = "jeju-play.io/"  # + host, pid, started, run-id: who holds the Lease, to tell a dead holder from a live one


@dataclass(frozen=True)
class DeadHolder:
    """A run that holds the Lease but whose process is gone (seen on the host it ran on)."""

    holder: str
    run_id: str
    pid: int
    host: str
    expires: str  # when the Lease would expire by itself

    def describe(self) -> str:
        return f"run {self.run_id} ({self.holder}, pid {self.pid} on {self.host}, no longer running)"


def _started(pid: int | str) -> str | None:
    """When the process started (clock ticks since boot, /proc/PID/stat field 22); None where /proc is not."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, started: str | None) -> bool:
    """The holder's process still runs: its pid answers and, where /proc tells, it started when the holder did (a
    reused pid is another process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    now = _started(pid)
    return started is None or now is None or now == started


class LockUnavailable(JejuPlayError):
    """The cluster could not be asked for the lock."""


def kube_target(env: Environment) -> tuple[str, str | None]:
    """The kubeconfig file and context the environment's runs use."""
    kubeconfig = str(Path(str(env.variables.get("jeju_kubeconfig", "~/.kube/config"))).expanduser())
    context = env.variables.get("jeju_kube_context")
    return kubeconfig, None if context is None else str(context)


def api_client(env: Environment, purpose: str) -> Any:
    """A kubernetes ApiClient for the environment's cluster; LockUnavailable (saying for what) when it cannot load."""
    from kubernetes import config

    kubeconfig, context = kube_target(env)
    try:
        return config.new_client_from_config(config_file=kubeconfig, context=context)  # type: ignore[no-untyped-call]
    except Exception as exc:
        raise LockUnavailable(f"Cannot load kubeconfig {kubeconfig} (context {context}) to {purpose}: {exc}") from exc


def _api(env: Environment) -> Any:
    from kubernetes import client

    return client.CoordinationV1Api(api_client(env, "take the remediation lock"))


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class RemediationLock:
    env: Environment
    holder: str  # operator and run id
    take_over: bool = False  # take the Lease from a live holder instead of refusing (takes_over_lock)
    seconds: int = DEFAULT_LEASE_SECONDS
    taken_from: str | None = None  # the live holder this run took the Lease from
    run_id: str = ""  # this run's id, on the Lease for the next run to find its record
    confirm_dead: Callable[[DeadHolder], bool] | None = None  # may this run take a dead holder's Lease over?
    replaced_run: str | None = None  # the run id of the dead or expired holder whose Lease this run replaced
    _api: Any = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _renewer: threading.Thread | None = None

    @property
    def namespace(self) -> str:
        return str(self.env.variables.get("jeju_namespace", "default"))

    def acquire(self) -> None:
        from kubernetes.client.exceptions import ApiException

        self._api = _api(self.env)
        try:
            current = self._api.read_namespaced_lease(LEASE_NAME, self.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise LockUnavailable(f"Cannot read Lease {self.namespace}/{LEASE_NAME}: {exc.reason}") from exc
            current = None
        except Exception as exc:
            raise LockUnavailable(f"Cannot reach the cluster to take the remediation lock "
                                  f"({self.namespace}/{LEASE_NAME}): {exc}") from exc
        dead = self._dead_holder(current) if current is not None and self._held_by_other(current) else None
        if current is not None and self._held_by_other(current) and self.take_over:
            self.taken_from = str(current.spec.holder_identity)
        elif dead is not None and self.confirm_dead is not None and self.confirm_dead(dead):
            self.taken_from = dead.describe()
        elif dead is not None:
            raise Refused(f"The remediation lock on {self.env.name} is held by {dead.describe()}: it died mid-run. "
                          "Nothing was changed. Run again at a terminal (or with --yes) to confirm taking the "
                          f"lock over after reading what it had done, or wait until the Lease expires at "
                          f"{dead.expires}.")
        elif current is not None and self._held_by_other(current):
            spec = current.spec
            raise Refused(
                f"Another remediation runs on {self.env.name}: Lease {self.namespace}/{LEASE_NAME} is held by "
                f"{spec.holder_identity} since {spec.acquire_time} (renewed {spec.renew_time}). Wait for it to "
                f"finish; a crashed run's lock expires {spec.lease_duration_seconds} s after its last renewal.")
        body = self._body()
        if current is not None and current.spec.holder_identity and (dead or not self._held_by_other(current)):
            self.replaced_run = ((current.metadata.annotations or {}).get(ANNOTATION + "run-id")
                                 or str(current.spec.holder_identity or "").rpartition(" run ")[2] or None)
        try:
            if current is None:
                self._api.create_namespaced_lease(self.namespace, body)
            else:
                body["metadata"]["resourceVersion"] = current.metadata.resource_version
                self._api.replace_namespaced_lease(LEASE_NAME, self.namespace, body)
        except ApiException as exc:
            if exc.status == 409:  # another run created or renewed it between our read and our write
                raise Refused(f"Another remediation took the lock on {self.env.name} a moment ago: Lease "
                              f"{self.namespace}/{LEASE_NAME} is held by {self._holder_now()}. Wait for it to "
                              "finish.") from exc
            raise LockUnavailable(f"Cannot take Lease {self.namespace}/{LEASE_NAME}: {exc.reason}") from exc
        self._renewer = threading.Thread(target=self._renew_forever, name="jeju-play-lease", daemon=True)
        self._renewer.start()

    @staticmethod
    def _dead_holder(lease: Any) -> DeadHolder | None:
        notes = lease.metadata.annotations or {}
        host, pid = notes.get(ANNOTATION + "host"), notes.get(ANNOTATION + "pid", "")
        started = notes.get(ANNOTATION + "started")
        if host != socket.gethostname() or not str(pid).isdigit() or _alive(int(pid), started):
            return None  # alive, or on another machine: only the Lease's expiry tells
        spec = lease.spec
        renewed = spec.renew_time or spec.acquire_time
        expires = renewed + timedelta(seconds=spec.lease_duration_seconds or 0) if renewed else None
        return DeadHolder(str(spec.holder_identity), notes.get(ANNOTATION + "run-id", ""), int(pid), host,
                          expires.isoformat(timespec="seconds") if expires else "unknown")

    def _holder_now(self) -> str:
        """Who holds the Lease as it is read now (after losing a race for it), or why that is not known."""
        try:
            return str(self._api.read_namespaced_lease(LEASE_NAME, self.namespace).spec.holder_identity)
        except Exception as exc:  # the name is for the message only; the refusal stands either way
            return f"a run whose name could not be read ({exc})"

    def _held_by_other(self, lease: Any) -> bool:
        spec = lease.spec
        if not spec.holder_identity or spec.holder_identity == self.holder:
            return False
        renewed = spec.renew_time or spec.acquire_time
        if renewed is None:
            return False
        if renewed.tzinfo is None:
            renewed = renewed.replace(tzinfo=UTC)
        return bool(renewed + timedelta(seconds=spec.lease_duration_seconds or 0) > _now())

    def _body(self) -> dict[str, Any]:
        now = _now().isoformat().replace("+00:00", "Z")
        return {
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": LEASE_NAME, "namespace": self.namespace,
                         "labels": {"app.kubernetes.io/managed-by": "jeju-play"},
                         "annotations": {ANNOTATION + "host": socket.gethostname(),
                                         ANNOTATION + "pid": str(os.getpid()), ANNOTATION + "run-id": self.run_id,
                                         ANNOTATION + "started": _started(os.getpid()) or ""}},
            "spec": {"holderIdentity": self.holder, "leaseDurationSeconds": self.seconds,
                     "acquireTime": now, "renewTime": now},
        }

    def _renew_forever(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                if self._api.read_namespaced_lease(LEASE_NAME, self.namespace).spec.holder_identity != self.holder:
                    return  # taken over (takes_over_lock): the Lease is the other run's to renew now
                now = _now().isoformat().replace("+00:00", "Z")
                self._api.patch_namespaced_lease(LEASE_NAME, self.namespace, {"spec": {"renewTime": now}})
            except Exception:  # noqa: S112 - a missed renewal is retried; expiry is the safety net
                continue

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=2)
        if self._api is None:
            return
        try:
            lease = self._api.read_namespaced_lease(LEASE_NAME, self.namespace)
            if lease.spec.holder_identity == self.holder:
                self._api.delete_namespaced_lease(LEASE_NAME, self.namespace)
        except Exception:  # noqa: S110 - the Lease expires by itself if it cannot be deleted now
            pass
