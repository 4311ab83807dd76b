"""The right target before any change: the cluster a kubeconfig reaches is the one the inventory names.

A kubeconfig's context name is a label anyone can copy; the UID of a cluster's kube-system namespace is set when
the cluster is created and kept for its lifetime. An inventory names it as `jeju_kube_cluster_uid`. Before a run
that may change things takes the remediation lock, the runner reads the UID through the environment's kubeconfig
and context and refuses (exit 4, recorded) when the two differ, naming both. A production environment must name
its cluster. Check-mode runs change nothing and are not asked (they also skip the kubernetes client's import).
"""

from __future__ import annotations

from jeju_play.environments import Environment
from jeju_play.errors import Refused
from jeju_play.lock import LockUnavailable, api_client, kube_target

UID_VAR = "jeju_kube_cluster_uid"
IDENTITY_NAMESPACE = "kube-system"
_TIMEOUT_SECONDS = 5


def _how_to_read(context: str | None) -> str:
    flag = f" --context {context}" if context else ""
    return f"kubectl{flag} get namespace {IDENTITY_NAMESPACE} -o jsonpath='{{.metadata.uid}}'"


def cluster_uid(env: Environment) -> str:
    """The UID of the kube-system namespace of the cluster the environment's kubeconfig reaches."""
    from kubernetes import client

    kubeconfig, context = kube_target(env)
    try:
        namespace = client.CoreV1Api(api_client(env, "confirm the cluster")).read_namespace(
            IDENTITY_NAMESPACE, _request_timeout=_TIMEOUT_SECONDS)
    except LockUnavailable:
        raise
    except Exception as exc:
        reason = getattr(exc, "reason", None) or exc
        raise LockUnavailable(f"Cannot confirm which cluster kubeconfig {kubeconfig} (context {context}) reaches: "
                              f"reading namespace {IDENTITY_NAMESPACE} failed ({reason}). Nothing was changed."
                              ) from exc
    metadata = namespace.metadata
    return str(metadata.uid if metadata is not None else "")


def confirm_cluster(env: Environment) -> None:
    """Refused when the cluster reached is not the inventory's (or production names none); else nothing."""
    if not env.has_cluster:
        return
    expected = env.variables.get(UID_VAR)
    kubeconfig, context = kube_target(env)
    if not expected:
        if env.production:
            raise Refused(f"'{env.name}' is production and its inventory does not name its cluster: set {UID_VAR} "
                          f"to the UID of the cluster's {IDENTITY_NAMESPACE} namespace ({_how_to_read(context)}). "
                          "Nothing was changed.")
        return
    actual = cluster_uid(env)
    if actual != str(expected):
        raise Refused(f"Wrong cluster for '{env.name}': kubeconfig {kubeconfig} (context {context}) reaches the "
                      f"cluster whose {IDENTITY_NAMESPACE} UID is {actual}, but the inventory names {expected} "
                      f"({UID_VAR}). Nothing was changed: point jeju_kubeconfig and jeju_kube_context at "
                      f"{env.name}'s cluster, or correct {UID_VAR} ({_how_to_read(context)}).")
