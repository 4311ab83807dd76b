# -*- coding: utf-8 -*-
"""Filters to_eth, to_gwei and to_wei: exact unit conversion for playbooks (`{{ x.wei | jeju.ops.to_eth }}`)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.jeju.ops.plugins.module_utils.units import UnitError, from_wei
from ansible_collections.jeju.ops.plugins.module_utils.units import to_wei as _to_wei


def to_eth(wei, digits=None):
    """wei -> ETH as a float (rounded to `digits` when given)."""
    return _convert(wei, "eth", digits)


def to_gwei(wei, digits=None):
    """wei -> gwei as a float (rounded to `digits` when given)."""
    return _convert(wei, "gwei", digits)


def to_wei(value, unit="eth"):
    """An amount in `unit` (eth, gwei or wei; strings keep full precision) -> wei as an integer."""
    try:
        return _to_wei(value, unit)
    except UnitError as exc:
        raise AnsibleFilterError(f"to_wei: {exc}") from None


def _convert(wei, unit, digits):
    try:
        value = float(from_wei(wei, unit))
    except UnitError as exc:
        raise AnsibleFilterError(f"to_{unit}: {exc}") from None
    return round(value, int(digits)) if digits is not None else value


class FilterModule:
    def filters(self):
        return {"to_eth": to_eth, "to_gwei": to_gwei, "to_wei": to_wei}
