"""The garbage collector and the namespace controller.

- An owner deleted in the foreground (finalizer `foregroundDeletion`) goes once its dependents are gone.
- A dependent whose owners are all gone (by uid) is deleted, as the garbage collector does after a Background
  delete of its owner.
- A Namespace being deleted (phase Terminating) has its content deleted; it goes once nothing is left in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jeju_lab.kube_double.patching import clone_obj
from jeju_lab.kube_double.resources import NAMESPACE, ResourceType
from jeju_lab.kube_double.store import FOREGROUND

if TYPE_CHECKING:
    from jeju_lab.kube_double.cluster import Cluster

Obj = dict[str, Any]


def collect(cluster: Cluster) -> None:
    store = cluster.store
    everything = [(rt, obj) for rt in _stored_types(cluster) for obj in store.scan(rt)]
    uids = {str(obj["metadata"].get("uid")) for _, obj in everything}
    for rt, obj in everything:
        meta = obj["metadata"]
        if store.peek(rt, meta.get("namespace"), meta["name"]) is not obj:
            continue  # changed or gone earlier in this pass
        if meta.get("deletionTimestamp") and FOREGROUND in (meta.get("finalizers") or []):
            if not store.dependents(obj):
                _drop_finalizer(cluster, rt, obj, FOREGROUND)
            continue
        refs = meta.get("ownerReferences") or []
        if refs and not meta.get("deletionTimestamp") and all(str(r.get("uid")) not in uids for r in refs):
            store.delete(rt, meta.get("namespace"), meta["name"])
    for namespace in store.scan(NAMESPACE):
        if namespace["metadata"].get("deletionTimestamp"):
            _finish_namespace(cluster, namespace)


def _stored_types(cluster: Cluster) -> list[ResourceType]:
    seen: set[tuple[str, str]] = set()
    types = []
    for rt in cluster.store.registry.types:
        if not rt.virtual and rt.storage_key not in seen:
            seen.add(rt.storage_key)
            types.append(rt)
    return types


def _drop_finalizer(cluster: Cluster, rt: ResourceType, obj: Obj, finalizer: str) -> None:
    updated = clone_obj(obj)
    updated["metadata"]["finalizers"] = [f for f in obj["metadata"].get("finalizers") or [] if f != finalizer]
    updated["metadata"].pop("resourceVersion", None)
    cluster.store.update(rt, updated)


def _finish_namespace(cluster: Cluster, namespace: Obj) -> None:
    store = cluster.store
    name = namespace["metadata"]["name"]
    left = [(rt, obj) for rt in _stored_types(cluster) if rt.namespaced for obj in store.scan(rt, name)]
    for rt, obj in left:
        meta = obj["metadata"]
        if store.peek(rt, name, meta["name"]) is obj and not meta.get("deletionTimestamp"):
            store.delete(rt, name, meta["name"])
    if not any(store.peek(rt, name, obj["metadata"]["name"]) is not None for rt, obj in left):
        store.remove(NAMESPACE, None, name)
