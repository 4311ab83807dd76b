"""The few validation rules the lab enforces, so clients see 422 Invalid where a real cluster says so."""

from __future__ import annotations

import re
from typing import Any

from jeju_lab.kube_double.api_errors import FieldError, invalid
from jeju_lab.kube_double.resources import ResourceType
from jeju_lab.kube_double.selectors import labels_match, requirements_from_selector

Obj = dict[str, Any]

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def _name_errors(name: str) -> list[FieldError]:
    if not name:
        return [FieldError("metadata.name", "Required value: name or generateName is required", "FieldValueRequired")]
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        message = (
            f"Invalid value: {name!r}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character"
        )
        return [FieldError("metadata.name", message)]
    return []


def _pod_spec_errors(spec: Obj | None, path: str) -> list[FieldError]:
    containers = (spec or {}).get("containers")
    if not containers:
        return [FieldError(f"{path}.containers", "Required value", "FieldValueRequired")]
    errors = []
    for index, container in enumerate(containers):
        if not container.get("name"):
            errors.append(FieldError(f"{path}.containers[{index}].name", "Required value", "FieldValueRequired"))
        if not container.get("image"):
            errors.append(FieldError(f"{path}.containers[{index}].image", "Required value", "FieldValueRequired"))
    return errors


def _replicas_errors(spec: Obj) -> list[FieldError]:
    replicas = spec.get("replicas")
    if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
        return [FieldError("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")]
    return []


def _workload_errors(spec: Obj) -> list[FieldError]:
    errors = _replicas_errors(spec)
    selector = spec.get("selector")
    if not selector:
        errors.append(FieldError("spec.selector", "Required value", "FieldValueRequired"))
    template = spec.get("template") or {}
    if selector and not labels_match(requirements_from_selector(selector), template):
        errors.append(
            FieldError("spec.template.metadata.labels", "Invalid value: `selector` does not match template `labels`")
        )
    return errors + _pod_spec_errors(template.get("spec"), "spec.template.spec")


def _crd_errors(crd: Obj) -> list[FieldError]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    errors = []
    for required in ("plural", "kind"):
        if not names.get(required):
            errors.append(FieldError(f"spec.names.{required}", "Required value", "FieldValueRequired"))
    if not spec.get("group"):
        errors.append(FieldError("spec.group", "Required value", "FieldValueRequired"))
    if not spec.get("versions"):
        errors.append(FieldError("spec.versions", "Invalid value: must have exactly one version marked as storage"))
    expected = f"{names.get('plural')}.{spec.get('group')}"
    if not errors and crd["metadata"].get("name") != expected:
        errors.append(FieldError("metadata.name", f'Invalid value: "{crd["metadata"].get("name")}": must be '
                                 f"spec.names.plural+\".\"+spec.group"))
    return errors


def validate(rt: ResourceType, obj: Obj) -> None:
    """Raise Invalid (422) if the object breaks a rule the real API server enforces."""
    name = (obj.get("metadata") or {}).get("name") or ""
    errors = _name_errors(name)
    spec = obj.get("spec") or {}
    if rt.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
        errors += _workload_errors(spec)
    elif rt.kind == "Job":
        errors += _pod_spec_errors((spec.get("template") or {}).get("spec"), "spec.template.spec")
    elif rt.kind == "CustomResourceDefinition":
        errors += _crd_errors(obj)
    elif rt.kind == "Pod":
        errors += _pod_spec_errors(spec, "spec")
    elif rt.kind == "Service":
        for index, port in enumerate(spec.get("ports") or []):
            if not isinstance(port.get("port"), int) or not 0 < port["port"] < 65536:
                errors.append(FieldError(f"spec.ports[{index}].port", f"Invalid value: {port.get('port')}"))
    if errors:
        raise invalid(rt, name, errors)
