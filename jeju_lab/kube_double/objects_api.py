"""REST verbs on stored objects: list, get, create, replace, patch, delete, and the scale/status subresources."""

from __future__ import annotations

import json
from typing import Any

import yaml
from aiohttp import web

from jeju_lab.kube_double import disruption
from jeju_lab.kube_double.api_errors import (
    ApiError,
    bad_request,
    conflict,
    method_not_allowed,
    not_found,
    unsupported_media_type,
)
from jeju_lab.kube_double.cluster import Cluster
from jeju_lab.kube_double.fields import APPLY, UPDATE, Write, default_manager
from jeju_lab.kube_double.patching import APPLY_PATCH, STRATEGIC_MERGE_PATCH, apply_patch, clone
from jeju_lab.kube_double.resources import ResourceType
from jeju_lab.kube_double.routing import Target
from jeju_lab.kube_double.selectors import parse_field_selector, parse_label_selector, selector_string
from jeju_lab.kube_double.tables import as_table, wants_table

Obj = dict[str, Any]


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), status=status, content_type="application/json")


def is_dry_run(request: web.Request, options: Obj | None = None) -> bool:
    if request.query.get("dryRun") == "All":
        return True
    return bool(options and "All" in (options.get("dryRun") or []))


async def read_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    if "protobuf" in request.content_type:
        # The double speaks JSON only; client-go (kubectl's typed clients) retries in JSON on a 415.
        raise unsupported_media_type(request.content_type)
    try:
        if request.content_type == APPLY_PATCH or request.content_type.endswith("yaml"):
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as err:
        raise bad_request(f"the request body could not be decoded: {err}") from err


def _require_object(body: Any) -> Obj:
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    body.setdefault("metadata", {})
    return body


_SCALE_META = ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
NAMESPACE_MISMATCH = "the namespace of the provided object does not match the namespace sent on the request"


def scale_of(obj: Obj) -> Obj:
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in _SCALE_META if k in meta},
        "spec": {"replicas": obj["spec"].get("replicas", 1)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": selector_string(obj["spec"].get("selector")),
        },
    }


class ObjectsApi:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.store = cluster.store

    def writer(
        self, request: web.Request, rt: ResourceType, operation: str = UPDATE, subresource: str | None = None
    ) -> Write:
        """Who writes, as the API server records it in managedFields."""
        manager = request.query.get("fieldManager") or default_manager(request.headers.get("User-Agent", ""))
        return Write(manager, operation, rt.api_version, self.store.now(), subresource)

    async def collection(self, request: web.Request, target: Target) -> web.StreamResponse:
        rt, namespace = target.rt, target.namespace
        if request.method == "GET":
            return self._list(request, rt, namespace)
        if request.method == "POST":
            body = _require_object(await read_body(request))
            body_namespace = body["metadata"].get("namespace")
            if rt.namespaced and namespace and body_namespace and body_namespace != namespace:
                raise bad_request(NAMESPACE_MISMATCH)
            if rt.namespaced:
                body["metadata"]["namespace"] = namespace or body_namespace
            created = self.store.create(rt, body, dry_run=is_dry_run(request), write=self.writer(request, rt))
            return json_response(created, 201)
        if request.method == "DELETE":
            doomed = self.store.list(rt, namespace, *self._selectors(request))
            options = await read_body(request)
            options = options if isinstance(options, dict) else {}
            for obj in doomed:
                self._delete_one(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"], options, request)
            return json_response(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {"group": rt.group, "kind": rt.plural},
                }
            )
        raise method_not_allowed()

    def _selectors(self, request: web.Request) -> tuple[Any, Any]:
        return (
            parse_label_selector(request.query.get("labelSelector")),
            parse_field_selector(request.query.get("fieldSelector")),
        )

    def _list_body(self, rt: ResourceType, items: list[Obj]) -> Obj:
        return {
            "kind": f"{rt.kind}List",
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": self.store.resource_version},
            "items": items,
        }

    def _list(self, request: web.Request, rt: ResourceType, namespace: str | None) -> web.Response:
        items = self.store.list(rt, namespace, *self._selectors(request))
        if wants_table(request.headers.get("Accept", "")):
            include = request.query.get("includeObject", "Metadata")
            return json_response(as_table(rt, items, self.store.resource_version, self.store.clock(), include))
        return json_response(self._list_body(rt, items))

    async def item(self, request: web.Request, target: Target) -> web.Response:
        rt, namespace, name = target.rt, target.namespace, target.name or ""
        if request.method == "GET":
            obj = self.store.get(rt, namespace, name)
            if wants_table(request.headers.get("Accept", "")):
                include = request.query.get("includeObject", "Metadata")
                return json_response(as_table(rt, [obj], self.store.resource_version, self.store.clock(), include))
            return json_response(obj)
        if request.method == "PUT":
            body = _require_object(await read_body(request))
            self._check_identity(body, target)
            updated = self.store.update(rt, body, dry_run=is_dry_run(request), write=self.writer(request, rt))
            return json_response(updated)
        if request.method == "PATCH":
            return await self._patch(request, target)
        if request.method == "DELETE":
            return self._delete(target, await read_body(request), request)
        raise method_not_allowed()

    def _check_identity(self, body: Obj, target: Target) -> None:
        meta = body["metadata"]
        if meta.get("name") and meta["name"] != target.name:
            message = f"the name of the object ({meta['name']}) does not match the name on the URL ({target.name})"
            raise bad_request(message)
        meta["name"] = target.name
        if target.rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != target.namespace:
                raise bad_request(NAMESPACE_MISMATCH)
            meta["namespace"] = target.namespace

    async def _patch(self, request: web.Request, target: Target) -> web.Response:
        rt, body = target.rt, await read_body(request)
        dry_run = is_dry_run(request)
        if request.content_type == APPLY_PATCH:
            if not request.query.get("fieldManager"):
                raise bad_request("PATCH with an apply patch needs the fieldManager query parameter")
            obj = _require_object(body)
            self._check_identity(obj, target)
            force = request.query.get("force", "").lower() in ("1", "true")
            applied, created = self.store.apply(rt, obj, self.writer(request, rt, APPLY), force=force, dry_run=dry_run)
            return json_response(applied, 201 if created else 200)
        current = self.store.peek(rt, target.namespace, target.name or "")
        if current is None:
            raise not_found(rt, target.name or "")
        if rt.custom and request.content_type.split(";")[0].strip() == STRATEGIC_MERGE_PATCH:
            raise unsupported_media_type(request.content_type)  # custom resources have no patch strategy
        patched = apply_patch(request.content_type, clone(current), body)
        patched.setdefault("metadata", {})
        self._check_identity(patched, target)
        return json_response(self.store.update(rt, patched, dry_run=dry_run, write=self.writer(request, rt)))

    def _delete_one(self, rt: ResourceType, namespace: str | None, name: str, options: Obj,
                    request: web.Request) -> Obj:
        propagation = options.get("propagationPolicy") or request.query.get("propagationPolicy") or "Background"
        grace = options.get("gracePeriodSeconds", request.query.get("gracePeriodSeconds"))
        return self.store.delete(
            rt,
            namespace,
            name,
            propagation=propagation,
            dry_run=is_dry_run(request, options),
            grace_seconds=None if grace is None else int(grace),
            preconditions=options.get("preconditions"),
        )

    def _delete(self, target: Target, options: Any, request: web.Request) -> web.Response:
        options = options if isinstance(options, dict) else {}
        return json_response(self._delete_one(target.rt, target.namespace, target.name or "", options, request))

    async def eviction(self, request: web.Request, target: Target) -> web.Response:
        if request.method != "POST":
            raise method_not_allowed()
        body = _require_object(await read_body(request))
        answer = disruption.evict(self.cluster, target.namespace or "", target.name or "", body,
                                  dry_run=is_dry_run(request, body.get("deleteOptions")))
        return json_response(answer, 201)

    async def status(self, request: web.Request, target: Target) -> web.Response:
        rt = target.rt
        if request.method == "GET":
            return json_response(self.store.get(rt, target.namespace, target.name or ""))
        body = _require_object(await read_body(request))
        if request.method == "PATCH":
            current = self.store.get(rt, target.namespace, target.name or "")
            body = apply_patch(request.content_type, current, body)
        elif request.method != "PUT":
            raise method_not_allowed()
        self._check_identity(body, target)
        return json_response(self.store.update(rt, body, subresource="status", dry_run=is_dry_run(request),
                                               write=self.writer(request, rt, subresource="status")))

    async def scale(self, request: web.Request, target: Target) -> web.Response:
        rt, name = target.rt, target.name or ""
        current = self.store.get(rt, target.namespace, name)
        if request.method == "GET":
            return json_response(scale_of(current))
        body = _require_object(await read_body(request))
        if request.method == "PATCH":
            wanted = apply_patch(request.content_type, scale_of(current), body)
        elif request.method == "PUT":
            wanted = body
        else:
            raise method_not_allowed()
        sent_version = (wanted.get("metadata") or {}).get("resourceVersion")
        if sent_version and sent_version != current["metadata"]["resourceVersion"]:
            raise conflict(rt, name)
        replicas = (wanted.get("spec") or {}).get("replicas", 0)
        current["spec"]["replicas"] = replicas
        try:
            updated = self.store.update(rt, current, dry_run=is_dry_run(request))
        except ApiError as err:
            err.message = err.message.replace(f'{rt.qualified_kind} "{name}"', f'Scale.autoscaling "{name}"')
            raise
        return json_response(scale_of(updated))
