"""metadata.managedFields and server-side apply: who owns which field, and conflicts between owners.

A field set is a set of paths in the FieldsV1 vocabulary: `f:<name>` for a map key or struct field,
`k:{"name":"x"}` for an item of an associative list (containers, env, ports, volumes, conditions, ...),
`v:<json>` for a value of a set list (finalizers), and `.` for "the item itself". Other lists are atomic: one
leaf. Writes through the HTTP API record their field manager (`?fieldManager=`, else the User-Agent's product
name, as the API server derives it); the simulators' own writes record none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jeju_lab.kube_double.patching import MERGE_KEYS, clone

Obj = dict[str, Any]
Path = tuple[str, ...]
FieldSet = set[Path]
APPLY = "Apply"
UPDATE = "Update"
# metadata the server owns: never in a manager's set.
_SERVER_METADATA = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                    "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink")
_SET_LISTS = ("finalizers",)


def default_manager(user_agent: str) -> str:
    """The manager the API server names for a request without ?fieldManager: the User-Agent up to the first `/`."""
    name = (user_agent or "unknown").split("/", 1)[0].strip() or "unknown"
    return name[:128]


def _list_key(field: str, item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    if field == "ports":
        keys = [k for k in ("containerPort", "port") if k in item]
        key = {keys[0]: item[keys[0]]} if keys else None
        if key is not None and "protocol" in item:
            key["protocol"] = item["protocol"]
        return None if key is None else "k:" + json.dumps(key, separators=(",", ":"), sort_keys=True)
    merge_key = MERGE_KEYS.get(field)
    if merge_key and merge_key in item:
        return "k:" + json.dumps({merge_key: item[merge_key]}, separators=(",", ":"))
    return None


def _walk(value: Any, path: Path, field: str, found: FieldSet, *, item: bool = False) -> None:
    if isinstance(value, dict) and value:
        if item:
            found.add((*path, "."))
        for key, child in value.items():
            _walk(child, (*path, f"f:{key}"), key, found)
        return
    if isinstance(value, list) and value:
        if field in _SET_LISTS and all(not isinstance(v, dict | list) for v in value):
            found.update((*path, "v:" + json.dumps(v)) for v in value)
            return
        keys = [_list_key(field, v) for v in value]
        if all(keys) and len(set(keys)) == len(keys):
            for key, child in zip(keys, value, strict=True):
                _walk(child, (*path, str(key)), field, found, item=True)
            return
    found.add(path)


def field_set(obj: Obj, subresource: str | None = None) -> FieldSet:
    """The fields an object (or an applied configuration) sets; status only for the status subresource."""
    found: FieldSet = set()
    if subresource == "status":
        _walk(obj.get("status"), ("f:status",), "status", found)
        return found
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "status"):
            continue
        if key == "metadata" and isinstance(value, dict):
            for meta_key, meta_value in value.items():
                if meta_key not in _SERVER_METADATA:
                    _walk(meta_value, ("f:metadata", f"f:{meta_key}"), meta_key, found)
            continue
        _walk(value, (f"f:{key}",), key, found)
    return found


def to_fields_v1(paths: FieldSet) -> Obj:
    tree: Obj = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault(part, {})
    return tree


def from_fields_v1(tree: Obj, prefix: Path = ()) -> FieldSet:
    found: FieldSet = set()
    for key, child in (tree or {}).items():
        if key == ".":
            found.add((*prefix, "."))
        elif child:
            found |= from_fields_v1(child, (*prefix, key))
        else:
            found.add((*prefix, key))
    return found


def _step(value: Any, part: str) -> Any:
    if part.startswith("f:"):
        return value.get(part[2:]) if isinstance(value, dict) else None
    if part.startswith("k:") and isinstance(value, list):
        wanted = json.loads(part[2:])
        return next((i for i in value if isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items())),
                    None)
    return None


def value_at(obj: Obj, path: Path) -> Any:
    current: Any = obj
    for part in path:
        if part == ".":
            return current
        if part.startswith("v:"):
            return part[2:] if isinstance(current, list) and json.loads(part[2:]) in current else None
        current = _step(current, part)
        if current is None:
            return None
    return current


def remove_at(obj: Obj, path: Path) -> None:
    """Remove the field at `path` (a list item for `k:`/`v:` paths); absent paths are ignored."""
    parent: Any = obj
    for part in path[:-1]:
        parent = _step(parent, part)
        if parent is None:
            return
    last = path[-1]
    if last == ".":
        remove_at(obj, path[:-1])
    elif last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif last.startswith("k:") and isinstance(parent, list):
        item = _step(parent, last)
        if item is not None:
            parent.remove(item)
    elif last.startswith("v:") and isinstance(parent, list):
        value = json.loads(last[2:])
        if value in parent:
            parent.remove(value)


@dataclass
class Entry:
    manager: str
    operation: str
    api_version: str
    time: str
    fields: FieldSet
    subresource: str | None = None

    @property
    def key(self) -> tuple[str, str, str | None]:
        return self.manager, self.operation, self.subresource

    def to_obj(self) -> Obj:
        obj: Obj = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version,
                    "time": self.time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(self.fields)}
        if self.subresource:
            obj["subresource"] = self.subresource
        return obj


def entries_of(obj: Obj) -> list[Entry]:
    return [Entry(str(e.get("manager", "")), str(e.get("operation", UPDATE)), str(e.get("apiVersion", "")),
                  str(e.get("time", "")), from_fields_v1(e.get("fieldsV1") or {}), e.get("subresource"))
            for e in (obj.get("metadata") or {}).get("managedFields") or [] if isinstance(e, dict)]


def _leaves(obj: Obj, subresource: str | None) -> dict[Path, Any]:
    return {path: value_at(obj, path) for path in field_set(obj, subresource)}


@dataclass(frozen=True)
class Write:
    """Who writes: the manager, Update or Apply, the request's apiVersion, the time and the subresource."""

    manager: str
    operation: str
    api_version: str
    time: str
    subresource: str | None = None


def _store(entries: list[Entry], new: Obj) -> None:
    kept = [e.to_obj() for e in entries if e.fields]
    if kept:
        new["metadata"]["managedFields"] = kept
    else:
        new["metadata"].pop("managedFields", None)


def record_update(old: Obj | None, new: Obj, write: Write) -> None:
    """Set new's managedFields after an Update by `write.manager` (create: old is None)."""
    entries = entries_of(old) if old is not None else []
    before = _leaves(old, write.subresource) if old is not None else {}
    after = _leaves(new, write.subresource)
    changed = {path for path, value in after.items() if path not in before or before[path] != value}
    removed = set(before) - set(after)
    mine = next((e for e in entries if e.key == (write.manager, write.operation, write.subresource)), None)
    for entry in entries:
        if entry is not mine:
            entry.fields -= changed | removed
    if mine is None:
        if not changed:
            _store(entries, new)
            return
        mine = Entry(write.manager, write.operation, write.api_version, write.time, set(), write.subresource)
        entries.append(mine)
    if changed or removed & mine.fields:
        mine.time, mine.api_version = write.time, write.api_version
    mine.fields = (mine.fields | changed) - removed
    _store(entries, new)


@dataclass(frozen=True)
class FieldConflict:
    manager: str
    path: Path

    @property
    def field(self) -> str:
        parts = []
        for part in self.path:
            if part.startswith("f:"):
                parts.append("." + part[2:])
            elif part.startswith(("k:", "v:")):
                parts.append(f"[{part[2:]}]")
        return "".join(parts)


def apply_conflicts(live: Obj, applied: Obj, manager: str) -> list[FieldConflict]:
    """The fields the applied configuration sets to a value other than the live one, owned by another manager."""
    wanted = _leaves(applied, None)
    conflicts = []
    for entry in entries_of(live):
        if entry.manager == manager or entry.subresource:
            continue
        for path in sorted(entry.fields & set(wanted)):
            if path[-1] != "." and value_at(live, path) != wanted[path]:
                conflicts.append(FieldConflict(entry.manager, path))
    return conflicts


def record_apply(live: Obj | None, merged: Obj, applied: Obj, write: Write, *, force: bool) -> Obj:
    """The object after an Apply: fields the manager applied before and dropped now are removed (unless another
    manager owns them); its Apply entry becomes exactly the applied fields (taken from others when forced)."""
    result: Obj = clone(merged)
    entries = entries_of(live) if live is not None else []
    applied_set = field_set(applied)
    mine = next((e for e in entries if e.key == (write.manager, APPLY, None)), None)
    others = [e for e in entries if e is not mine]
    if mine is not None:
        owned_by_others = set().union(*(e.fields for e in others)) if others else set()
        for path in sorted(mine.fields - applied_set - owned_by_others, key=len, reverse=True):
            remove_at(result, path)
    wanted = _leaves(applied, None)
    for entry in others:
        if force:
            entry.fields -= applied_set
        elif live is not None:
            entry.fields -= {p for p in applied_set if p[-1] != "." and value_at(live, p) != wanted.get(p)}
    if mine is None:
        mine = Entry(write.manager, APPLY, write.api_version, write.time, set())
        entries.append(mine)
    if mine.fields != applied_set:
        mine.fields, mine.time, mine.api_version = applied_set, write.time, write.api_version
    result.setdefault("metadata", {})
    _store(entries, result)
    return result
