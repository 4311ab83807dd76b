"""The resource types the API double serves: group, version, plural, kind, scope and subresources."""

from __future__ import annotations

from dataclasses import dataclass

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    virtual: bool = False  # served from hooks, not stored (metrics)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def qualified_plural(self) -> str:
        """How error messages name the resource: `pods`, `deployments.apps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """How Invalid errors name the kind: `Pod`, `Deployment.apps`."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


_ALL = ("all",)

RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "namespaces", "Namespace", False, ("ns",), ("status",)),
    ResourceType("", "v1", "nodes", "Node", False, ("no",), ("status",)),
    ResourceType("", "v1", "pods", "Pod", True, ("po",), ("status", "log", "exec"), _ALL),
    ResourceType("", "v1", "services", "Service", True, ("svc",), ("status",), _ALL),
    ResourceType("", "v1", "endpoints", "Endpoints", True, ("ep",)),
    ResourceType("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",), ("status",)),
    ResourceType("", "v1", "events", "Event", True, ("ev",)),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    ResourceType("", "v1", "secrets", "Secret", True),
    ResourceType("apps", "v1", "deployments", "Deployment", True, ("deploy",), ("status", "scale"), _ALL),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), ("status", "scale"), _ALL),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True),
    ResourceType("networking.k8s.io", "v1", "ingresses", "Ingress", True, ("ing",), ("status",)),
    ResourceType("snapshot.storage.k8s.io", "v1", "volumesnapshots", "VolumeSnapshot", True, ("vs",), ("status",)),
    ResourceType("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", True, verbs=READ_VERBS, virtual=True),
    ResourceType("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, verbs=READ_VERBS, virtual=True),
)

_BY_KIND = {rt.kind: rt for rt in RESOURCES}
_BY_PATH = {(rt.group, rt.version, rt.plural): rt for rt in RESOURCES}

NAMESPACE = _BY_KIND["Namespace"]
NODE = _BY_KIND["Node"]
POD = _BY_KIND["Pod"]
EVENT = _BY_KIND["Event"]
DEPLOYMENT = _BY_KIND["Deployment"]
REPLICASET = _BY_KIND["ReplicaSet"]
POD_METRICS = _BY_KIND["PodMetrics"]
NODE_METRICS = _BY_KIND["NodeMetrics"]


def by_kind(kind: str) -> ResourceType:
    """The type for a kind name (`Deployment`); a LookupError names the kinds the lab knows."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        known = ", ".join(sorted(_BY_KIND))
        raise LookupError(f"the lab API double does not serve kind {kind!r}; it serves: {known}") from None


def by_path(group: str, version: str, plural: str) -> ResourceType | None:
    return _BY_PATH.get((group, version, plural))


def group_versions() -> dict[str, list[ResourceType]]:
    """Resource types by group version, in registry order (`v1`, `apps/v1`, ...)."""
    result: dict[str, list[ResourceType]] = {}
    for rt in RESOURCES:
        result.setdefault(rt.group_version, []).append(rt)
    return result
