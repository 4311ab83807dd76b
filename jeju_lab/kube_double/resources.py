"""The resource types the API double serves: group, version, plural, kind, scope and subresources.

Built-in types are module constants; a `Registry` (one per cluster) adds the types its CustomResourceDefinitions
define, so discovery, routing and the store see them as the API server does.
"""

from __future__ import annotations

from dataclasses import dataclass

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get", "list")
CREATE_ONLY = ("create",)


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
    virtual: bool = False  # served from hooks, not stored (metrics, access reviews)
    custom: bool = False  # defined by a CustomResourceDefinition
    singular_name: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def singular(self) -> str:
        return self.singular_name or self.kind.lower()

    @property
    def storage_key(self) -> tuple[str, str]:
        """Where the objects live: every served version of a group's resource shares them."""
        return self.group, self.plural

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
_STATUS = ("status",)
_STATUS_SCALE = ("status", "scale")

RESOURCES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "namespaces", "Namespace", False, ("ns",), ("status", "finalize")),
    ResourceType("", "v1", "nodes", "Node", False, ("no",), _STATUS),
    ResourceType("", "v1", "pods", "Pod", True, ("po",), ("status", "log", "exec", "eviction"), _ALL),
    ResourceType("", "v1", "services", "Service", True, ("svc",), _STATUS, _ALL),
    ResourceType("", "v1", "endpoints", "Endpoints", True, ("ep",), singular_name="endpoints"),
    ResourceType("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",), _STATUS),
    ResourceType("", "v1", "events", "Event", True, ("ev",)),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    ResourceType("", "v1", "secrets", "Secret", True),
    ResourceType("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    ResourceType("apps", "v1", "deployments", "Deployment", True, ("deploy",), _STATUS_SCALE, _ALL),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), _STATUS_SCALE, _ALL),
    ResourceType("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), _STATUS_SCALE, _ALL),
    ResourceType("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), _STATUS, _ALL),
    ResourceType("apps", "v1", "controllerrevisions", "ControllerRevision", True),
    ResourceType("batch", "v1", "jobs", "Job", True, (), _STATUS, _ALL),
    ResourceType("batch", "v1", "cronjobs", "CronJob", True, ("cj",), _STATUS, _ALL),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True),
    ResourceType("networking.k8s.io", "v1", "ingresses", "Ingress", True, ("ing",), _STATUS),
    ResourceType("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ("netpol",)),
    ResourceType("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",), _STATUS),
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    ResourceType("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
                 ("crd", "crds"), _STATUS),
    ResourceType("snapshot.storage.k8s.io", "v1", "volumesnapshots", "VolumeSnapshot", True, ("vs",), _STATUS),
    ResourceType("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
                 verbs=CREATE_ONLY, virtual=True),
    ResourceType("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", True, verbs=READ_VERBS, virtual=True),
    ResourceType("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, verbs=READ_VERBS, virtual=True),
)

_BY_KIND = {rt.kind: rt for rt in RESOURCES}
_BY_PATH = {(rt.group, rt.version, rt.plural): rt for rt in RESOURCES}

NAMESPACE = _BY_KIND["Namespace"]
NODE = _BY_KIND["Node"]
POD = _BY_KIND["Pod"]
EVENT = _BY_KIND["Event"]
CONFIGMAP = _BY_KIND["ConfigMap"]
SECRET = _BY_KIND["Secret"]
SERVICE_ACCOUNT = _BY_KIND["ServiceAccount"]
DEPLOYMENT = _BY_KIND["Deployment"]
REPLICASET = _BY_KIND["ReplicaSet"]
STATEFULSET = _BY_KIND["StatefulSet"]
DAEMONSET = _BY_KIND["DaemonSet"]
CONTROLLER_REVISION = _BY_KIND["ControllerRevision"]
JOB = _BY_KIND["Job"]
PDB = _BY_KIND["PodDisruptionBudget"]
CRD = _BY_KIND["CustomResourceDefinition"]
ACCESS_REVIEW = _BY_KIND["SelfSubjectAccessReview"]
POD_METRICS = _BY_KIND["PodMetrics"]
NODE_METRICS = _BY_KIND["NodeMetrics"]


def by_kind(kind: str) -> ResourceType:
    """The built-in type for a kind name (`Deployment`); a LookupError names the kinds the lab knows."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        known = ", ".join(sorted(_BY_KIND))
        raise LookupError(f"the lab API double does not serve kind {kind!r}; it serves: {known}") from None


def by_path(group: str, version: str, plural: str) -> ResourceType | None:
    return _BY_PATH.get((group, version, plural))


def group_versions() -> dict[str, list[ResourceType]]:
    """Built-in resource types by group version, in registry order (`v1`, `apps/v1`, ...)."""
    return _group_versions(RESOURCES)


def _group_versions(types: tuple[ResourceType, ...] | list[ResourceType]) -> dict[str, list[ResourceType]]:
    result: dict[str, list[ResourceType]] = {}
    for rt in types:
        result.setdefault(rt.group_version, []).append(rt)
    return result


class Registry:
    """What one cluster serves: the built-in types and those its CustomResourceDefinitions add."""

    def __init__(self) -> None:
        self._custom: list[ResourceType] = []

    @property
    def types(self) -> tuple[ResourceType, ...]:
        return (*RESOURCES, *self._custom)

    def by_kind(self, kind: str, api_version: str | None = None) -> ResourceType:
        """The type for a kind (built-in first); with api_version, the one in that group version."""
        for rt in self.types:
            if rt.kind == kind and (api_version is None or rt.api_version == api_version):
                return rt
        known = ", ".join(sorted({rt.kind for rt in self.types}))
        raise LookupError(f"the lab API double does not serve kind {kind!r}; it serves: {known}")

    def by_path(self, group: str, version: str, plural: str) -> ResourceType | None:
        found = _BY_PATH.get((group, version, plural))
        if found is not None:
            return found
        return next((rt for rt in self._custom if (rt.group, rt.version, rt.plural) == (group, version, plural)),
                    None)

    def group_versions(self) -> dict[str, list[ResourceType]]:
        return _group_versions(self.types)

    def group_names(self) -> dict[str, list[str]]:
        """Each API group and its versions, the preferred (first listed) first."""
        groups: dict[str, list[str]] = {}
        for rt in self.types:
            if rt.group and rt.version not in groups.setdefault(rt.group, []):
                groups[rt.group].append(rt.version)
        return groups

    def set_custom(self, group: str, plural: str, types: list[ResourceType]) -> None:
        """Replace the served versions of one custom resource (a CRD was created, changed or deleted)."""
        self._custom = [rt for rt in self._custom if rt.storage_key != (group, plural)] + types
