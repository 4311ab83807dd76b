# -*- coding: utf-8 -*-
"""Exact unit conversion between wei, gwei and ETH (Decimal, never float)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

WEI_PER = {"wei": 1, "gwei": 10**9, "eth": 10**18, "ether": 10**18}


class UnitError(ValueError):
    pass


def to_wei(value: object, unit: str = "eth") -> int:
    """`1.5` ETH -> 1500000000000000000. Refuses fractions of a wei and negative amounts."""
    factor = _factor(unit)
    try:
        amount = Decimal(str(value).strip()) * factor
    except InvalidOperation:
        raise UnitError(f"{value!r} is not a number of {unit}") from None
    if amount < 0:
        raise UnitError(f"{value!r} {unit} is negative")
    if amount != amount.to_integral_value():
        raise UnitError(f"{value!r} {unit} is not a whole number of wei")
    return int(amount)


def from_wei(wei: object, unit: str = "eth") -> Decimal:
    try:
        amount = Decimal(int(str(wei), 0) if isinstance(wei, str) else int(wei))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UnitError(f"{wei!r} is not an amount of wei") from None
    return (amount / _factor(unit)).normalize() if amount else Decimal(0)


def to_eth(wei: object) -> float:
    """For results and filters: ETH as a JSON number (exact values stay in the *_wei fields)."""
    return float(from_wei(wei, "eth"))


def to_gwei(wei: object) -> float:
    return float(from_wei(wei, "gwei"))


def eth_text(wei: int) -> str:
    """An exact, human-readable ETH amount for messages."""
    text = format(from_wei(wei, "eth"), "f")
    return f"{text} ETH"


def _factor(unit: str) -> Decimal:
    try:
        return Decimal(WEI_PER[unit.lower()])
    except KeyError:
        raise UnitError(f"unknown unit {unit!r}: use wei, gwei or eth") from None
