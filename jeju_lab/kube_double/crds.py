"""CustomResourceDefinitions: each served version becomes a resource type of the cluster's registry (discovery,
routing and the store see it at once), the CRD gets the Established and NamesAccepted conditions, and deleting it
deletes its custom resources. Not modelled: schema validation and pruning, conversion between versions (every
version shares the stored objects), scale subresources of custom resources.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jeju_lab.kube_double.patching import clone_obj
from jeju_lab.kube_double.resources import CRD, STANDARD_VERBS, ResourceType

if TYPE_CHECKING:
    from jeju_lab.kube_double.cluster import Cluster

Obj = dict[str, Any]


def types_of(crd: Obj) -> list[ResourceType]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    subresources = tuple(sorted((v.get("subresources") or {}).keys()) for v in spec.get("versions") or [])
    types = []
    for version, subs in zip(spec.get("versions") or [], subresources, strict=True):
        if not version.get("served", True):
            continue
        types.append(ResourceType(
            group=str(spec.get("group", "")), version=str(version["name"]), plural=str(names.get("plural", "")),
            kind=str(names.get("kind", "")), namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()), subresources=tuple(s for s in subs if s == "status"),
            categories=tuple(names.get("categories") or ()), verbs=STANDARD_VERBS, custom=True,
            singular_name=str(names.get("singular") or "")))
    return types


def on_change(cluster: Cluster, change_type: str, crd: Obj) -> None:
    """Keep the registry in step with a CRD that was added, changed or deleted."""
    spec = crd.get("spec") or {}
    group, plural = str(spec.get("group", "")), str((spec.get("names") or {}).get("plural", ""))
    registry = cluster.store.registry
    if change_type == "DELETED":
        for rt in registry.types:
            if rt.custom and rt.storage_key == (group, plural):
                cluster.store.drop_type(rt)
                break
        registry.set_custom(group, plural, [])
    else:
        registry.set_custom(group, plural, types_of(crd))


def sync_status(cluster: Cluster) -> None:
    """Established and NamesAccepted for every CRD, its acceptedNames and storedVersions."""
    now = cluster.store.now()
    for crd in cluster.store.scan(CRD):
        spec = crd.get("spec") or {}
        old = crd.get("status") or {}
        before = {c.get("type"): c for c in old.get("conditions") or []}
        conditions = []
        for kind, reason, message in (("NamesAccepted", "NoConflicts", "no conflicts found"),
                                      ("Established", "InitialNamesAccepted", "the initial names have been accepted")):
            stamp = (before.get(kind) or {}).get("lastTransitionTime", now)
            conditions.append({"type": kind, "status": "True", "lastTransitionTime": stamp, "reason": reason,
                               "message": message})
        status = {"conditions": conditions, "acceptedNames": clone_obj(spec.get("names") or {}),
                  "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")]}
        if old != status:
            updated = clone_obj(crd)
            updated["status"] = status
            updated["metadata"].pop("resourceVersion", None)
            cluster.store.update(CRD, updated, subresource="status")
