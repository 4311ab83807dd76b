# Copyright: Jeju operations. Apache-2.0.
"""k8s_memory_plan: the next memory limit (current + step, capped at the maximum), in Kubernetes quantities."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

_UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "k": 1000, "M": 1000**2, "G": 1000**3,
          "T": 1000**4}


def k8s_memory_bytes(quantity: Any) -> int:
    text = str(quantity).strip()
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(suffix):
            number = text.removesuffix(suffix)
            break
    else:
        suffix, number = "", text
    try:
        return int(float(number or 0) * _UNITS.get(suffix, 1))
    except ValueError as exc:
        raise AnsibleFilterError(f"{quantity!r} is not a Kubernetes memory quantity (e.g. 2Gi, 512Mi)") from exc


def k8s_memory_quantity(size: int) -> str:
    for suffix in ("Ti", "Gi", "Mi", "Ki"):
        if size % _UNITS[suffix] == 0 and size >= _UNITS[suffix]:
            return f"{size // _UNITS[suffix]}{suffix}"
    return str(size)


def k8s_memory_plan(current: Any, step: Any, maximum: Any) -> dict[str, Any]:
    now, ceiling = k8s_memory_bytes(current), k8s_memory_bytes(maximum)
    target = min(now + k8s_memory_bytes(step), ceiling)
    return {"current": str(current), "target": k8s_memory_quantity(target), "maximum": str(maximum),
            "raise": target > now, "at_max": now >= ceiling}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"k8s_memory_plan": k8s_memory_plan, "k8s_memory_bytes": k8s_memory_bytes,
                "k8s_memory_quantity": k8s_memory_quantity}
