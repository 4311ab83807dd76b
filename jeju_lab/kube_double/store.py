"""The object store: resourceVersion, uid, generation, conflicts, deletion and change feeds.

Deletion works as on the API server: an object with finalizers, a Namespace (until its content is gone) and a
Pod bound to a node (for its grace period, until the kubelet has stopped it) get a `deletionTimestamp` and stay;
everything else goes at once. Background propagation deletes the dependents with the owner, Foreground keeps the
owner (finalizer `foregroundDeletion`) until they are gone, Orphan strips their ownerReferences.

Everything here runs on one asyncio loop; methods are plain (not async) and never block.
Callers get copies: mutating a returned object changes nothing until it is written back.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jeju_lab.kube_double import fields as managed
from jeju_lab.kube_double.api_errors import (
    already_exists,
    apply_conflict,
    bad_request,
    conflict,
    namespace_terminating,
    not_found,
    precondition_failed,
)
from jeju_lab.kube_double.defaulting import apply_defaults, normalize, prune_nulls
from jeju_lab.kube_double.patching import apply_configuration, clone_obj
from jeju_lab.kube_double.resources import JOB, NAMESPACE, POD, Registry, ResourceType
from jeju_lab.kube_double.selectors import FieldRequirement, Requirement, fields_match, labels_match
from jeju_lab.kube_double.validation import validate

Obj = dict[str, Any]
Listener = Callable[[str, Obj], None]
Requirements = list[Requirement]
FieldRequirements = list[FieldRequirement]
LOG = logging.getLogger(__name__)
_HISTORY = 4096
FOREGROUND = "foregroundDeletion"
DEFAULT_GRACE_SECONDS = 30
_FIXED_METADATA = ("uid", "creationTimestamp", "namespace", "generation", "deletionTimestamp",
                   "deletionGracePeriodSeconds", "managedFields")
_JOB_UID_LABELS = ("batch.kubernetes.io/controller-uid", "controller-uid")
_JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")


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
            change.rt.storage_key == self.rt.storage_key
            and (self.namespace is None or meta.get("namespace") == self.namespace)
            and labels_match(self.labels, change.obj)
            and fields_match(self.fields, change.obj)
        )


@dataclass(frozen=True)
class Termination:
    """A pod being stopped: when its deletion was asked (store clock) and its grace period."""

    started: float
    grace_seconds: float


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj["metadata"]
    return meta.get("namespace") or "", meta["name"]


def _without_version(obj: Obj) -> Obj:
    copy = dict(obj)
    copy["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
    return copy


def _without_bookkeeping(obj: Obj) -> Obj:
    copy = dict(obj)
    copy["metadata"] = {k: v for k, v in obj["metadata"].items() if k not in ("resourceVersion", "managedFields")}
    return copy


def owned_by(obj: Obj, uid: str) -> bool:
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])


class Store:
    def __init__(self, clock: Callable[[], float] = time.time, registry: Registry | None = None) -> None:
        self.clock = clock
        self.registry = registry or Registry()
        self._objects: dict[tuple[str, str], dict[tuple[str, str], Obj]] = {}
        self._version = 1000
        self._history: deque[Change] = deque(maxlen=_HISTORY)
        self._watchers: set[Watcher] = set()
        self._listeners: list[Listener] = []
        self.terminations: dict[str, Termination] = {}  # pod uid -> its graceful stop
        self.namespace_defaults: Callable[[str], list[tuple[ResourceType, Obj]]] = lambda namespace: []

    # -- reading ---------------------------------------------------------------------------------------
    @property
    def resource_version(self) -> str:
        return str(self._version)

    def now(self) -> str:
        return iso_time(self.clock())

    def _bucket(self, rt: ResourceType) -> dict[tuple[str, str], Obj]:
        return self._objects.setdefault(rt.storage_key, {})

    def peek(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        """The stored object itself (do not modify), or None."""
        return self._bucket(rt).get(((namespace or "") if rt.namespaced else "", name))

    def _as_version(self, rt: ResourceType, obj: Obj) -> Obj:
        copy = clone_obj(obj)
        if rt.custom:
            copy["apiVersion"] = rt.api_version
        return copy

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        found = self.peek(rt, namespace, name)
        if found is None:
            raise not_found(rt, name)
        return self._as_version(rt, found)

    def scan(self, rt: ResourceType, namespace: str | None = None) -> list[Obj]:
        """The stored objects themselves (do not modify), optionally in one namespace."""
        objects = self._bucket(rt).values()
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
            self._as_version(rt, o)
            for o in self.scan(rt, namespace)
            if labels_match(labels or [], o) and fields_match(fields or [], o)
        ]
        found.sort(key=_key)
        return found

    def dependents(self, owner: Obj) -> builtins.list[tuple[ResourceType, Obj]]:
        """The stored objects owner (by uid) appears in the ownerReferences of."""
        uid = owner["metadata"].get("uid")
        return [(self._type_of(key), o) for key, bucket in self._objects.items() for o in bucket.values()
                if owned_by(o, str(uid))]

    def _type_of(self, storage_key: tuple[str, str]) -> ResourceType:
        return next(rt for rt in self.registry.types if rt.storage_key == storage_key)

    # -- writing ---------------------------------------------------------------------------------------
    def _prepare(self, rt: ResourceType, obj: Obj) -> Obj:
        return normalize(rt.kind, apply_defaults(rt.kind, prune_nulls(obj)))

    def create(
        self, rt: ResourceType, obj: Obj, *, dry_run: bool = False, write: managed.Write | None = None
    ) -> Obj:
        new = self._prepare(rt, obj)
        meta = new.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if rt.namespaced:
            meta["namespace"] = meta.get("namespace") or "default"
            namespace = self.peek(NAMESPACE, None, meta["namespace"])
            if namespace is None:
                raise not_found(NAMESPACE, meta["namespace"])
            if namespace["metadata"].get("deletionTimestamp"):
                raise namespace_terminating(rt, meta.get("name") or "", meta["namespace"])
        else:
            meta.pop("namespace", None)
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        validate(rt, new)
        if self.peek(rt, meta.get("namespace"), meta["name"]) is not None:
            raise already_exists(rt, meta["name"])
        for server_owned in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
            meta.pop(server_owned, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.now()
        if "spec" in new:
            meta["generation"] = 1
        if rt is NAMESPACE:
            new.setdefault("spec", {"finalizers": ["kubernetes"]})
            new["status"] = {"phase": "Active"}
        if rt is JOB:
            _job_selector(new)
        if write is not None:
            managed.record_update(None, new, write)
        if dry_run:
            return new
        created = self._write(rt, new, "ADDED")
        if rt is NAMESPACE:
            for default_rt, default in self.namespace_defaults(meta["name"]):
                if self.peek(default_rt, meta["name"], default["metadata"]["name"]) is None:
                    self.create(default_rt, default)
        return created

    def update(
        self,
        rt: ResourceType,
        obj: Obj,
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        write: managed.Write | None = None,
    ) -> Obj:
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
        if _without_bookkeeping(new) == _without_bookkeeping(existing):
            return self._as_version(rt, existing)
        if write is not None:
            managed.record_update(existing, new, write)
        if dry_run:
            return new
        return self._write_or_finish(rt, new)

    def _merge_update(self, rt: ResourceType, existing: Obj, obj: Obj) -> Obj:
        new = self._prepare(rt, obj)
        new["apiVersion"], new["kind"] = existing["apiVersion"], rt.kind
        old_meta, meta = existing["metadata"], new.setdefault("metadata", {})
        for fixed in _FIXED_METADATA:
            if fixed in old_meta:
                meta[fixed] = old_meta[fixed]
            else:
                meta.pop(fixed, None)
        if rt.has_status or rt is NAMESPACE:
            if "status" in existing:
                new["status"] = clone_obj(existing["status"])
            else:
                new.pop("status", None)
        if rt is NAMESPACE:
            new["spec"] = clone_obj(existing.get("spec") or {})
        if new.get("spec") != existing.get("spec") and "spec" in new:
            meta["generation"] = int(old_meta.get("generation") or 0) + 1
        return new

    def apply(
        self, rt: ResourceType, applied: Obj, write: managed.Write, *, force: bool = False, dry_run: bool = False
    ) -> tuple[Obj, bool]:
        """Server-side apply: (object, created). 409 Conflict names the other managers' fields unless forced."""
        applied = prune_nulls(applied)
        meta = applied.setdefault("metadata", {})
        live = self.peek(rt, meta.get("namespace") if rt.namespaced else None, meta.get("name") or "")
        if live is None:
            created = self._prepare(rt, clone_obj(applied))
            created = managed.record_apply(None, created, applied, write, force=force)
            entries = created["metadata"].pop("managedFields", None)
            result = self.create(rt, created, dry_run=True)
            if entries:
                result["metadata"]["managedFields"] = entries
            return (result if dry_run else self._create_prepared(rt, result)), True
        conflicts = [] if force else managed.apply_conflicts(live, applied, write.manager)
        if conflicts:
            raise apply_conflict(rt, live["metadata"]["name"], [(c.manager, c.field) for c in conflicts])
        merged = apply_configuration(clone_obj(live), applied)
        merged = managed.record_apply(live, merged, applied, write, force=force)
        entries = merged["metadata"].get("managedFields")
        merged["metadata"].pop("resourceVersion", None)
        new = self._merge_update(rt, live, merged)
        if entries:
            new["metadata"]["managedFields"] = entries
        else:
            new["metadata"].pop("managedFields", None)
        validate(rt, new)
        if _without_version(new) == _without_version(live):
            return self._as_version(rt, live), False
        if dry_run:
            return new, False
        return self._write_or_finish(rt, new), False

    def _create_prepared(self, rt: ResourceType, obj: Obj) -> Obj:
        """Store an object `create(dry_run=True)` prepared (server-side apply's create)."""
        created = self._write(rt, obj, "ADDED")
        if rt is NAMESPACE:
            for default_rt, default in self.namespace_defaults(obj["metadata"]["name"]):
                if self.peek(default_rt, obj["metadata"]["name"], default["metadata"]["name"]) is None:
                    self.create(default_rt, default)
        return created

    def _write_or_finish(self, rt: ResourceType, new: Obj) -> Obj:
        """Write an update; an object being deleted whose last finalizer went is removed instead."""
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and rt is not NAMESPACE and (
                rt is not POD or meta.get("uid") not in self.terminations):
            written = self._write(rt, new, "MODIFIED")
            self.remove(rt, meta.get("namespace"), meta["name"])
            return written
        return self._write(rt, new, "MODIFIED")

    # -- deleting --------------------------------------------------------------------------------------
    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        propagation: str = "Background",
        dry_run: bool = False,
        grace_seconds: int | None = None,
        preconditions: Obj | None = None,
    ) -> Obj:
        """Ask for deletion; returns the object as it is now (with deletionTimestamp when it stays for a while)."""
        existing = self.peek(rt, namespace, name)
        if existing is None:
            raise not_found(rt, name)
        if propagation not in ("Background", "Foreground", "Orphan"):
            raise bad_request(f"propagationPolicy {propagation!r} is not one of Background, Foreground, Orphan")
        meta = existing["metadata"]
        for what, key in (("UID", "uid"), ("ResourceVersion", "resourceVersion")):
            wanted = (preconditions or {}).get(key)
            if wanted and wanted != meta.get(key):
                raise precondition_failed(rt, name, what, str(wanted), str(meta.get(key)))
        grace = self._grace_seconds(rt, existing, grace_seconds)
        if dry_run:
            gone = clone_obj(existing)
            gone["metadata"].setdefault("deletionTimestamp", self.now())
            return gone
        if meta.get("deletionTimestamp"):
            return self._delete_again(rt, existing, grace)
        finalizers = list(meta.get("finalizers") or [])
        if propagation == "Orphan":
            self._orphan_dependents(existing)
        elif propagation == "Foreground" and self.dependents(existing) and FOREGROUND not in finalizers:
            finalizers.append(FOREGROUND)
        if not finalizers and not grace and rt is not NAMESPACE:
            return self.remove(rt, namespace, name, cascade=propagation != "Orphan")
        doomed = clone_obj(existing)
        doomed_meta = doomed["metadata"]
        doomed_meta["deletionTimestamp"] = iso_time(self.clock() + (grace or 0))
        doomed_meta["deletionGracePeriodSeconds"] = grace or 0
        if finalizers:
            doomed_meta["finalizers"] = finalizers
        if rt is NAMESPACE:
            doomed["status"] = {**(doomed.get("status") or {}), "phase": "Terminating"}
        if grace:
            self.terminations[str(meta["uid"])] = Termination(self.clock(), float(grace))
        result = self._write(rt, doomed, "MODIFIED")
        if propagation == "Foreground":
            self._delete_dependents(existing, "Foreground")
        return result

    def _grace_seconds(self, rt: ResourceType, obj: Obj, asked: int | None) -> int:
        """A pod bound to a node stops within its grace period; other objects and unbound pods go at once."""
        if rt is not POD or not obj["spec"].get("nodeName"):
            return 0
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return 0
        if asked is None:
            asked = obj["spec"].get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
        return max(int(asked or 0), 0)

    def _delete_again(self, rt: ResourceType, existing: Obj, grace: int) -> Obj:
        """A second delete of a terminating pod may shorten its grace period (0: remove it now)."""
        uid = str(existing["metadata"]["uid"])
        running = self.terminations.get(uid)
        if rt is POD and running is not None and grace < running.grace_seconds - (self.clock() - running.started):
            if grace == 0 and not existing["metadata"].get("finalizers"):
                return self.remove(rt, existing["metadata"].get("namespace"), existing["metadata"]["name"])
            self.terminations[uid] = Termination(self.clock(), float(grace))
            shortened = clone_obj(existing)
            shortened["metadata"]["deletionTimestamp"] = iso_time(self.clock() + grace)
            shortened["metadata"]["deletionGracePeriodSeconds"] = grace
            return self._write(rt, shortened, "MODIFIED")
        return self._as_version(rt, existing)

    def remove(self, rt: ResourceType, namespace: str | None, name: str, *, cascade: bool = True) -> Obj:
        """Take an object out of the store now (the end of a deletion); Background-deletes its dependents."""
        existing = self.peek(rt, namespace, name)
        if existing is None:
            raise not_found(rt, name)
        gone = clone_obj(existing)
        gone["metadata"].setdefault("deletionTimestamp", self.now())
        self.terminations.pop(str(existing["metadata"].get("uid")), None)
        if cascade:
            self._delete_dependents(existing, "Background")
        del self._bucket(rt)[_key(existing)]
        self._version += 1
        gone["metadata"]["resourceVersion"] = str(self._version)
        self._emit(Change(self._version, "DELETED", rt, gone))
        return self._as_version(rt, gone)

    def _delete_dependents(self, owner: Obj, propagation: str) -> None:
        if owner["kind"] == "Namespace":
            doomed = [(self._type_of(key), o) for key, bucket in self._objects.items() for o in bucket.values()
                      if o["metadata"].get("namespace") == owner["metadata"]["name"] and "namespace" in o["metadata"]
                      and self._type_of(key).namespaced]
        else:
            doomed = self.dependents(owner)
        for rt, obj in doomed:
            meta = obj["metadata"]
            if self.peek(rt, meta.get("namespace"), meta["name"]) is not None and not meta.get("deletionTimestamp"):
                self.delete(rt, meta.get("namespace"), meta["name"], propagation=propagation)

    def _orphan_dependents(self, owner: Obj) -> None:
        uid = owner["metadata"]["uid"]
        for rt, obj in self.dependents(owner):
            orphan = clone_obj(obj)
            refs = [r for r in orphan["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            orphan["metadata"]["ownerReferences"] = refs
            if not refs:
                del orphan["metadata"]["ownerReferences"]
            self._write(rt, orphan, "MODIFIED")

    def _write(self, rt: ResourceType, obj: Obj, change_type: str) -> Obj:
        self._version += 1
        obj["metadata"]["resourceVersion"] = str(self._version)
        self._bucket(rt)[_key(obj)] = obj
        self._emit(Change(self._version, change_type, rt, clone_obj(obj)))
        return self._as_version(rt, obj)

    def drop_type(self, rt: ResourceType) -> None:
        """Forget every object of a type (its CustomResourceDefinition is gone)."""
        for obj in list(self._bucket(rt).values()):
            self.remove(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"], cascade=False)
        self._objects.pop(rt.storage_key, None)

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


def _job_selector(job: Obj) -> None:
    """A Job without manualSelector selects its pods by its own uid, as the API server sets it up."""
    spec = job.setdefault("spec", {})
    if spec.get("manualSelector"):
        return
    uid, name = job["metadata"]["uid"], job["metadata"]["name"]
    labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
    labels.update(dict.fromkeys(_JOB_UID_LABELS, uid))
    labels.update(dict.fromkeys(_JOB_NAME_LABELS, name))
    spec["selector"] = {"matchLabels": {_JOB_UID_LABELS[0]: uid}}
