"""One remediation per environment at a time: a Kubernetes Lease in the target cluster.

Two on-call engineers paged for the same outage must not patch op-node against each other. A run that may
change things holds the Lease `jeju-play-remediation` in the environment's namespace; a second run is refused
(exit 4) with who holds it. The holder renews it while it runs; a crashed holder's Lease expires.
The breach response never waits: security-breach takes the Lease over from whoever holds it, and the runner
then refuses the other run's remaining gates because of the freeze it sets (jeju_play/freeze.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jeju_play.environments import Environment
from jeju_play.errors import JejuPlayError, Refused

LEASE_NAME = "jeju-play-remediation"
DEFAULT_LEASE_SECONDS = 120
# Incidents that take the lock over instead of waiting for it: the < 2 minute breach response.
TAKES_OVER = frozenset({"security-breach"})


class LockUnavailable(JejuPlayError):
    """The cluster could not be asked for the lock."""


def _api(env: Environment) -> Any:
    from kubernetes import client, config

    kubeconfig = str(Path(str(env.variables.get("jeju_kubeconfig", "~/.kube/config"))).expanduser())
    context = env.variables.get("jeju_kube_context")
    try:
        api_client = config.new_client_from_config(config_file=kubeconfig, context=context)  # type: ignore[no-untyped-call]
    except Exception as exc:
        raise LockUnavailable(f"Cannot load kubeconfig {kubeconfig} (context {context}) to take the "
                              f"remediation lock: {exc}") from exc
    return client.CoordinationV1Api(api_client)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class RemediationLock:
    env: Environment
    holder: str  # operator and run id
    take_over: bool = False  # take the Lease from a live holder instead of refusing (TAKES_OVER)
    seconds: int = DEFAULT_LEASE_SECONDS
    taken_from: str | None = None  # the live holder this run took the Lease from
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
        if current is not None and self._held_by_other(current) and self.take_over:
            self.taken_from = str(current.spec.holder_identity)
        elif current is not None and self._held_by_other(current):
            spec = current.spec
            raise Refused(
                f"Another remediation runs on {self.env.name}: Lease {self.namespace}/{LEASE_NAME} is held by "
                f"{spec.holder_identity} since {spec.acquire_time} (renewed {spec.renew_time}). Wait for it to "
                f"finish; a crashed run's lock expires {spec.lease_duration_seconds} s after its last renewal.")
        body = self._body()
        try:
            if current is None:
                self._api.create_namespaced_lease(self.namespace, body)
            else:
                body["metadata"]["resourceVersion"] = current.metadata.resource_version
                self._api.replace_namespaced_lease(LEASE_NAME, self.namespace, body)
        except ApiException as exc:
            if exc.status == 409:
                raise Refused(f"Another remediation took the lock on {self.env.name} a moment ago; "
                              "wait for it to finish.") from exc
            raise LockUnavailable(f"Cannot take Lease {self.namespace}/{LEASE_NAME}: {exc.reason}") from exc
        self._renewer = threading.Thread(target=self._renew_forever, name="jeju-play-lease", daemon=True)
        self._renewer.start()

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
                         "labels": {"app.kubernetes.io/managed-by": "jeju-play"}},
            "spec": {"holderIdentity": self.holder, "leaseDurationSeconds": self.seconds,
                     "acquireTime": now, "renewTime": now},
        }

    def _renew_forever(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                if self._api.read_namespaced_lease(LEASE_NAME, self.namespace).spec.holder_identity != self.holder:
                    return  # taken over (TAKES_OVER): the Lease is the other run's to renew now
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
