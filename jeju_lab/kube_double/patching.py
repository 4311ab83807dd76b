"""The four patch types: JSON patch, JSON merge patch, strategic merge patch and server-side apply.

Strategic merge merges lists of objects by their merge key (containers, env, volumes by `name`, ports by
`containerPort` or `port`, conditions by `type`, ...) and honours the directives kubectl sends:
`$patch: replace|delete|merge`, `$retainKeys`, `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`.
"""

from __future__ import annotations

from typing import Any

import jsonpatch

from jeju_lab.kube_double.api_errors import ApiError, unsupported_media_type

Obj = dict[str, Any]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)

_NAME_KEYED = ("containers", "initContainers", "ephemeralContainers", "env", "volumes", "imagePullSecrets")
MERGE_KEYS: dict[str, str] = {
    **dict.fromkeys(_NAME_KEYED, "name"),
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
}
_PRIMITIVE_SET_LISTS = ("finalizers",)


def clone(value: Any) -> Any:
    """A deep copy of JSON data, faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def clone_obj(obj: Obj) -> Obj:
    """A deep copy of one object."""
    return {k: clone(v) for k, v in obj.items()}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: Obj, operations: Any) -> Obj:
    try:
        patched = jsonpatch.apply_patch(target, operations, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as err:
        raise ApiError(422, "Invalid", f"the JSON patch could not be applied: {err}") from err
    if not isinstance(patched, dict):
        raise ApiError(422, "Invalid", "the JSON patch must leave an object")
    return patched


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":
        return "containerPort" if any(isinstance(i, dict) and "containerPort" in i for i in items) else "port"
    return MERGE_KEYS.get(field)


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value if not (isinstance(v, dict) and v.get("$patch") == "delete")]
    return value


def _merge_list(field: str, current: list[Any], patch: list[Any], key: str) -> list[Any]:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip_directives(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    result = [clone(i) for i in current]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            result.append(_strip_directives(item))
            continue
        index = next((n for n, old in enumerate(result) if isinstance(old, dict) and old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            result = [old for old in result if not (isinstance(old, dict) and old.get(key) == item[key])]
        elif index is None:
            result.append(_strip_directives(item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result


def _apply_order(items: list[Any], order: list[Any], key: str | None) -> list[Any]:
    def ident(item: Any) -> Any:
        return item.get(key) if key and isinstance(item, dict) else item

    wanted = [ident(o) for o in order]
    ranked = sorted(items, key=lambda i: wanted.index(ident(i)) if ident(i) in wanted else len(wanted))
    return ranked


def strategic_merge(target: Any, patch: Any) -> Any:
    """Merge `patch` into `target` the way the API server merges a strategic-merge patch."""
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return _strip_directives(patch)
    if patch.get("$patch") == "replace":
        return _strip_directives(patch)
    result = clone(target)
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            orders[key.split("/", 1)[1]] = value
        elif key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in value]
        elif key.startswith("$"):
            continue
        elif value is None or (isinstance(value, dict) and value.get("$patch") == "delete"):
            result.pop(key, None)
        elif isinstance(value, dict):
            result[key] = strategic_merge(result.get(key), value)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            merge_key = _merge_key(key, value + result[key])
            if merge_key:
                result[key] = _merge_list(key, result[key], value, merge_key)
            elif key in _PRIMITIVE_SET_LISTS:
                result[key] = result[key] + [v for v in value if v not in result[key]]
            else:
                result[key] = _strip_directives(value)
        else:
            result[key] = _strip_directives(value)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            result[field] = _apply_order(result[field], order, _merge_key(field, result[field]))
    return result


def apply_configuration(target: Obj | None, applied: Obj) -> Obj:
    """Server-side apply, field-wise: the applied fields win, fields the applier did not mention stay."""
    merged = strategic_merge(target, applied) if target else _strip_directives(applied)
    return merged if isinstance(merged, dict) else {}


def apply_patch(content_type: str, target: Obj, body: Any) -> Obj:
    """Apply a patch body of the given content type to `target` (not modified)."""
    media = content_type.split(";", 1)[0].strip()
    if media == JSON_PATCH:
        return json_patch(target, body)
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", f"a {media} body must be an object")
    if media == MERGE_PATCH:
        result = merge_patch(target, body)
        return result if isinstance(result, dict) else {}
    if media == STRATEGIC_MERGE_PATCH:
        result = strategic_merge(target, body)
        return result if isinstance(result, dict) else {}
    if media == APPLY_PATCH:
        return apply_configuration(target, body)
    raise unsupported_media_type(content_type)
