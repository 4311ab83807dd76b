"""The object store: resourceVersion, uid, generation, conflicts, cascading deletes and change feeds.

Everything here runs on one asyncio loop; methods are plain (not async) and never block.
Callers get copies: mutating a returned object changes nothing until it is written back.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jeju_play.lab.kube.api_errors import already_exists, bad_request, conflict, not_found
from jeju_play.lab.kube.defaulting import apply_defaults, prune_nulls
from jeju_play.lab.kube.patching import clone_obj
from jeju_play.lab.kube.resources import NAMESPACE, RESOURCES, ResourceType
from jeju_play.lab.kube.selectors import FieldRequirement, Requirement, fields_match, labels_match
from jeju_play.lab.kube.validation import validate

Obj = dict[str, Any]
Listener = Callable[[str, Obj], None]
Requirements = list[Requirement]
FieldRequirements = list[FieldRequirement]
LOG = logging.getLogger(__name__)
_HISTORY = 4096


def iso_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Change:
    resource_version: int
    type: str  # ADDED, MODIFIED, DELETED
    rt: ResourceType
    obj: Obj


@dataclass(eq=False)
class Watcher:
    """One open watch: matching changes are queued; None in the queue means the server is stopping."""

    rt: ResourceType
    namespace: str | None
    labels: list[Requirement]
    fields: list[FieldRequirement]
    queue: asyncio.Queue[Change | None] = field(default_factory=asyncio.Queue)

    def wants(self, change: Change) -> bool:
        meta = change.obj["metadata"]
        return (
            change.rt is self.rt
            and (self.namespace is None or meta.get("namespace") == self.namespace)
            and labels_match(self.labels, change.obj)
            and fields_match(self.fields, change.obj)
        )


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj["metadata"]
    return meta.get("namespace") or "", meta["name"]


def _spec_of(obj: Obj) -> Any:
    return obj.get("spec")


def _without_version(obj: Obj) -> Obj:
    copy = dict(obj)
    copy["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
    return copy


class Store:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._objects: dict[ResourceType, dict[tuple[str, str], Obj]] = {rt: {} for rt in RESOURCES if not rt.virtual}
        self._version = 1000
        self._history: deque[Change] = deque(maxlen=_HISTORY)
        self._watchers: set[Watcher] = set()
        self._listeners: list[Listener] = []

    # -- reading ---------------------------------------------------------------------------------------
    @property
    def resource_version(self) -> str:
        return str(self._version)

    def now(self) -> str:
        return iso_time(self.clock())

    def peek(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        """The stored object itself (do not modify), or None."""
        return self._objects[rt].get(((namespace or "") if rt.namespaced else "", name))

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        found = self.peek(rt, namespace, name)
        if found is None:
            raise not_found(rt, name)
        return clone_obj(found)

    def scan(self, rt: ResourceType, namespace: str | None = None) -> list[Obj]:
        """The stored objects themselves (do not modify), optionally in one namespace."""
        objects = self._objects[rt].values()
        if namespace is None or not rt.namespaced:
            return list(objects)
        return [o for o in objects if o["metadata"].get("namespace") == namespace]

    def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        labels: list[Requirement] | None = None,
        fields: list[FieldRequirement] | None = None,
    ) -> list[Obj]:
        found = [
            clone_obj(o)
            for o in self.scan(rt, namespace)
            if labels_match(labels or [], o) and fields_match(fields or [], o)
        ]
        found.sort(key=_key)
        return found

    # -- writing ---------------------------------------------------------------------------------------
    def create(self, rt: ResourceType, obj: Obj, *, dry_run: bool = False) -> Obj:
        new = apply_defaults(rt.kind, prune_nulls(obj))
        meta = new.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if rt.namespaced:
            meta["namespace"] = meta.get("namespace") or "default"
            if self.peek(NAMESPACE, None, meta["namespace"]) is None:
                raise not_found(NAMESPACE, meta["namespace"])
        else:
            meta.pop("namespace", None)
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        validate(rt, new)
        if self.peek(rt, meta.get("namespace"), meta["name"]) is not None:
            raise already_exists(rt, meta["name"])
        meta.pop("resourceVersion", None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.now()
        if "spec" in new:
            meta["generation"] = 1
        if rt is NAMESPACE:
            new.setdefault("spec", {"finalizers": ["kubernetes"]})
            new["status"] = {"phase": "Active"}
        if dry_run:
            return new
        return self._write(rt, new, "ADDED")

    def update(self, rt: ResourceType, obj: Obj, *, subresource: str | None = None, dry_run: bool = False) -> Obj:
        """Replace an object (PUT semantics). With subresource="status" only the status changes."""
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") if rt.namespaced else None
        existing = self.peek(rt, namespace, meta.get("name") or "")
        if existing is None:
            raise not_found(rt, meta.get("name") or "")
        sent_version = meta.get("resourceVersion")
        if sent_version and sent_version != existing["metadata"]["resourceVersion"]:
            raise conflict(rt, meta["name"])
        if subresource == "status":
            new = clone_obj(existing)
            new["status"] = prune_nulls(obj.get("status"))
        else:
            new = self._merge_update(rt, existing, obj)
        validate(rt, new)
        if _without_version(new) == _without_version(existing):
            return clone_obj(existing)
        if dry_run:
            return new
        return self._write(rt, new, "MODIFIED")

    def _merge_update(self, rt: ResourceType, existing: Obj, obj: Obj) -> Obj:
        new = apply_defaults(rt.kind, prune_nulls(obj))
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        old_meta, meta = existing["metadata"], new.setdefault("metadata", {})
        for fixed in ("uid", "creationTimestamp", "namespace", "generation", "deletionTimestamp"):
            if fixed in old_meta:
                meta[fixed] = old_meta[fixed]
            else:
                meta.pop(fixed, None)
        if rt.has_status or rt is NAMESPACE:
            if "status" in existing:
                new["status"] = clone_obj(existing["status"])
            else:
                new.pop("status", None)
        if "spec" in new and _spec_of(new) != _spec_of(existing):
            meta["generation"] = int(old_meta.get("generation") or 0) + 1
        return new

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        propagation: str = "Background",
        dry_run: bool = False,
    ) -> Obj:
        existing = self.peek(rt, namespace, name)
        if existing is None:
            raise not_found(rt, name)
        gone = clone_obj(existing)
        gone["metadata"]["deletionTimestamp"] = self.now()
        if dry_run:
            return gone
        if propagation not in ("Background", "Foreground", "Orphan"):
            raise bad_request(f"propagationPolicy {propagation!r} is not one of Background, Foreground, Orphan")
        if propagation != "Orphan":
            self._delete_dependents(existing)
        del self._objects[rt][_key(existing)]
        self._version += 1
        gone["metadata"]["resourceVersion"] = str(self._version)
        self._emit(Change(self._version, "DELETED", rt, gone))
        return clone_obj(gone)

    def _delete_dependents(self, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        if owner["kind"] == "Namespace":
            doomed = [
                (rt, o) for rt in self._objects for o in self.scan(rt, owner["metadata"]["name"]) if rt.namespaced
            ]
        else:
            doomed = [
                (rt, o)
                for rt, objects in self._objects.items()
                for o in objects.values()
                if any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or [])
            ]
        for rt, obj in doomed:
            if self.peek(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"]) is not None:
                self.delete(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"])

    def _write(self, rt: ResourceType, obj: Obj, change_type: str) -> Obj:
        self._version += 1
        obj["metadata"]["resourceVersion"] = str(self._version)
        self._objects[rt][_key(obj)] = obj
        self._emit(Change(self._version, change_type, rt, clone_obj(obj)))
        return clone_obj(obj)

    # -- change feeds ----------------------------------------------------------------------------------
    def _emit(self, change: Change) -> None:
        self._history.append(change)
        for watcher in list(self._watchers):
            if watcher.wants(change):
                watcher.queue.put_nowait(change)
        for listener in list(self._listeners):
            try:
                listener(change.type, clone_obj(change.obj))
            except Exception:  # a broken subscriber must not break the API
                LOG.exception("a change subscriber failed on %s %s", change.type, change.rt.kind)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        labels: Requirements,
        fields: FieldRequirements,
        since: int | None,
    ) -> Watcher:
        """Open a watch. since=None or 0: start with ADDED for every current match; else replay after it."""
        watcher = Watcher(rt, namespace if rt.namespaced else None, labels, fields)
        if not since:
            for obj in self.list(rt, namespace, labels, fields):
                version = int(obj["metadata"]["resourceVersion"])
                watcher.queue.put_nowait(Change(version, "ADDED", rt, obj))
        else:
            for change in self._history:
                if change.resource_version > since and watcher.wants(change):
                    watcher.queue.put_nowait(change)
        self._watchers.add(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def close_watchers(self) -> None:
        for watcher in list(self._watchers):
            watcher.queue.put_nowait(None)
        self._watchers.clear()
