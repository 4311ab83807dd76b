"""A minimal OpenAPI v3 tree: enough for kubectl create/apply to see that the server validates fields
(`fieldValidation`), so it skips client-side schema validation. No schemas are served; /openapi/v2 is 404,
so kubectl computes apply patches from its built-in types.
"""

from __future__ import annotations

from typing import Any

from jeju_lab.kube_double.discovery import VERSION_INFO
from jeju_lab.kube_double.resources import Registry, ResourceType

Obj = dict[str, Any]


def _prefix(group_version: str) -> str:
    return f"api/{group_version}" if "/" not in group_version else f"apis/{group_version}"


def index(registry: Registry) -> Obj:
    return {
        "paths": {
            _prefix(gv): {"serverRelativeURL": f"/openapi/v3/{_prefix(gv)}"}
            for gv, types in registry.group_versions().items()
            if not all(rt.virtual for rt in types)
        }
    }


def _patch_operation(rt: ResourceType) -> Obj:
    return {
        "operationId": f"patch{rt.kind}",
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "parameters": [
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
            {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
        ],
        "responses": {"200": {"description": "OK"}},
    }


def group_version_spec(registry: Registry, path: str) -> Obj | None:
    """The spec for `api/v1` or `apis/<group>/<version>`, or None."""
    for gv, types in registry.group_versions().items():
        if _prefix(gv) != path.strip("/"):
            continue
        paths: Obj = {}
        for rt in types:
            if rt.virtual:
                continue
            scope = "/namespaces/{namespace}" if rt.namespaced else ""
            paths[f"/{_prefix(gv)}{scope}/{rt.plural}/{{name}}"] = {"patch": _patch_operation(rt)}
        return {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes (jeju lab)", "version": VERSION_INFO["gitVersion"]},
            "paths": paths,
            "components": {"schemas": {}},
        }
    return None
