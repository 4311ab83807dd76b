"""The security freeze: a ConfigMap in the target cluster that keeps stopped services stopped for every operator.

playbooks/security-breach.yml (role emergency_stop) writes ConfigMap `jeju-play-freeze` in the op-stack namespace.
While its state is `frozen`, the runner refuses every incident that could restart or scale up the stopped
components (those whose catalog entry is not `allowed_while_frozen`), and a run that started before the freeze
has every later gate refused (jeju_play/guards.py asks before each approval). `jeju-play freeze lift` marks it
lifted, keeping who lifted it, when and why in the same ConfigMap.
This module reads and lifts the freeze; the kubernetes client is imported lazily: `jeju-play list` stays quick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jeju_play.environments import Environment
from jeju_play.errors import BadInput, JejuPlayError
from jeju_play.record import now_iso

CONFIGMAP = "jeju-play-freeze"
_TIMEOUT_SECONDS = 5


class FreezeUnreadable(JejuPlayError):
    """The cluster holding the freeze could not be asked."""


@dataclass
class Freeze:
    environment: str
    namespace: str
    state: str
    frozen_by: str
    frozen_at: str
    run_id: str
    reason: str
    components: list[str]
    lifted_by: str = ""
    lifted_at: str = ""
    lift_reason: str = ""

    @property
    def active(self) -> bool:
        return self.state != "lifted"

    @classmethod
    def from_data(cls, env: Environment, namespace: str, data: dict[str, str]) -> Freeze:
        return cls(environment=env.name, namespace=namespace, state=data.get("state") or "frozen",
                   frozen_by=data.get("frozen_by", "unknown"), frozen_at=data.get("frozen_at", "unknown"),
                   run_id=data.get("run_id", ""), reason=data.get("reason", ""),
                   components=[c for c in data.get("components", "").split(",") if c],
                   lifted_by=data.get("lifted_by", ""), lifted_at=data.get("lifted_at", ""),
                   lift_reason=data.get("lift_reason", ""))

    def refusal(self, incident: str) -> str:
        return (f"The security freeze on '{self.environment}' blocks '{incident}': set by {self.frozen_by} at "
                f"{self.frozen_at} (run {self.run_id}, reason: {self.reason}); it keeps "
                f"{', '.join(self.components) or 'the stopped components'} stopped until the root cause is found. "
                f"Lift it when it is safe: jeju-play freeze lift -i {self.environment} --reason \"...\"")


def _core_api(env: Environment) -> Any:
    from kubernetes import client, config

    kubeconfig = env.variables.get("jeju_kubeconfig")
    context = env.variables.get("jeju_kube_context")
    try:
        api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context)
    except (config.ConfigException, OSError, TypeError) as exc:
        raise FreezeUnreadable(f"Cannot load kubeconfig {kubeconfig} (context {context}) of '{env.name}': {exc}. "
                               "Fix jeju_kubeconfig / jeju_kube_context in the inventory.") from exc
    return client.CoreV1Api(api)


def _namespace(env: Environment) -> str:
    return str(env.variables.get("jeju_namespace", "op-stack"))


def read(env: Environment) -> Freeze | None:
    """The freeze of an environment (active or lifted), None when none was ever set."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    namespace = _namespace(env)
    try:
        found = _core_api(env).read_namespaced_config_map(CONFIGMAP, namespace, _request_timeout=_TIMEOUT_SECONDS)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise FreezeUnreadable(f"Reading ConfigMap {namespace}/{CONFIGMAP} on '{env.name}' failed: HTTP "
                               f"{exc.status} {exc.reason}.") from exc
    except (OSError, HTTPError) as exc:
        raise FreezeUnreadable(f"The cluster of '{env.name}' did not answer ({type(exc).__name__}); cannot "
                               "read the security freeze.") from exc
    return Freeze.from_data(env, namespace, dict(found.data or {}))


def lift(env: Environment, reason: str, who: str) -> Freeze:
    """Mark the freeze lifted, keeping who, when and why in the ConfigMap."""
    if not reason.strip():
        raise BadInput("Say why the freeze is lifted: --reason \"root cause found and patched in ...\".")
    freeze = read(env)
    if freeze is None or not freeze.active:
        raise BadInput(f"There is no security freeze on '{env.name}' to lift.")
    lifted = {"state": "lifted", "lifted_by": who, "lifted_at": now_iso(), "lift_reason": reason.strip()}
    _core_api(env).patch_namespaced_config_map(CONFIGMAP, freeze.namespace, {"data": lifted},
                                               _request_timeout=_TIMEOUT_SECONDS)
    return Freeze(**{**freeze.__dict__, **lifted})
