# -*- coding: utf-8 -*-
# Copyright: Jeju operations. Apache-2.0.
"""Filters for Kubernetes quantities, on the kubernetes client's parser (module_utils/k8s_units.py).

    {{ '2Gi' | jeju.ops.k8s_bytes }}                   -> 2147483648
    {{ '3900m' | jeju.ops.k8s_millicores }}            -> 3900.0
    {{ '2Gi' | jeju.ops.k8s_memory_plan('2Gi', '8Gi') }}
        -> {current: 2Gi, target: 4Gi, maximum: 8Gi, raise: true, at_max: false}  (current + step, capped)
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.jeju.ops.plugins.module_utils.k8s_units import (
    QuantityError,
    memory_text,
    to_bytes,
    to_millicores,
)


def _checked(function, value):
    try:
        return function(value)
    except QuantityError as exc:
        raise AnsibleFilterError(str(exc)) from None


def k8s_bytes(value):
    return _checked(to_bytes, value)


def k8s_millicores(value):
    return _checked(to_millicores, value)


def k8s_memory_plan(current, step, maximum):
    now, ceiling = k8s_bytes(current or "0"), k8s_bytes(maximum)
    target = min(now + k8s_bytes(step), ceiling)
    return {"current": str(current), "target": memory_text(target), "maximum": str(maximum),
            "raise": target > now, "at_max": now >= ceiling}


class FilterModule:
    def filters(self):
        return {"k8s_bytes": k8s_bytes, "k8s_millicores": k8s_millicores, "k8s_memory_plan": k8s_memory_plan}
