"""Discovery documents: /version, /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>.

Only the legacy (unaggregated) form: kubectl and the DynamicClient fall back to it when the answer is plain
application/json. /openapi/v2 and /openapi/v3 answer 404, which kubectl treats as "no schema".
"""

from __future__ import annotations

from typing import Any

from jeju_play.lab.kube.resources import ResourceType, group_versions

Obj = dict[str, Any]

VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_SUBRESOURCE_ENTRIES: dict[str, Obj] = {
    "status": {"verbs": ["get", "patch", "update"]},
    "scale": {"group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]},
    "log": {"verbs": ["get"]},
    "exec": {"kind": "PodExecOptions", "verbs": ["create", "get"]},
}


def api_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(name: str, version: str) -> Obj:
    entry = {"groupVersion": f"{name}/{version}", "version": version}
    return {"name": name, "versions": [entry], "preferredVersion": entry}


def api_group_list() -> Obj:
    groups = []
    for group_version in group_versions():
        if "/" in group_version:
            name, version = group_version.split("/")
            groups.append(_group(name, version))
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(name: str) -> Obj | None:
    for group_version in group_versions():
        if group_version.startswith(f"{name}/"):
            return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, group_version.split("/")[1])}
    return None


def _resource_entries(rt: ResourceType) -> list[Obj]:
    main: Obj = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.categories:
        main["categories"] = list(rt.categories)
    entries = [main]
    for sub in rt.subresources:
        entry = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced, "kind": rt.kind}
        entry.update(_SUBRESOURCE_ENTRIES[sub])
        entries.append(entry)
    return entries


def api_resource_list(group_version: str) -> Obj | None:
    types = group_versions().get(group_version)
    if types is None:
        return None
    resources = [entry for rt in types for entry in _resource_entries(rt)]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}
