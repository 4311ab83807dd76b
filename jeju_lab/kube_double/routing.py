"""Turn an API path into a target: resource type, namespace, name and subresource."""

from __future__ import annotations

from dataclasses import dataclass

from jeju_lab.kube_double.resources import Registry, ResourceType


@dataclass(frozen=True)
class Target:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def parse_target(path: str, registry: Registry) -> Target | None:
    """`/api/v1/namespaces/ns/pods/x/log` -> Target(pods, "ns", "x", "log"); None if no such resource."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if len(rest) >= 3 and rest[0] == "namespaces":
        rt = registry.by_path(group, version, rest[2])
        if rt is not None and rt.namespaced and len(rest) <= 5:
            return Target(rt, rest[1], rest[3] if len(rest) > 3 else None, rest[4] if len(rest) > 4 else None)
    if not rest or len(rest) > 3:
        return None
    rt = registry.by_path(group, version, rest[0])
    if rt is None:
        return None
    return Target(rt, None, rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None)
