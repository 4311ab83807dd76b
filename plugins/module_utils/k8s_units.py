# -*- coding: utf-8 -*-
"""Kubernetes quantities ("2Gi", "512Mi", "3900m", "120000000n"), parsed by the kubernetes client's own parser
(kubernetes.utils.quantity.parse_quantity: the full unit table, decimal and binary suffixes, exponents).
"""

from __future__ import annotations

from decimal import Decimal

BINARY = (("Ti", 1024**4), ("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024))


class QuantityError(ValueError):
    pass


def quantity(value: object, what: str = "quantity") -> Decimal:
    from kubernetes.utils.quantity import parse_quantity

    try:
        return Decimal(parse_quantity(value if isinstance(value, (int, float, Decimal)) else str(value).strip()))
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise QuantityError(f"{value!r} is not a Kubernetes {what} (e.g. 2Gi, 512Mi, 500m)") from exc


def to_bytes(value: object) -> int:
    """A memory quantity in bytes."""
    return int(quantity(value, "memory quantity"))


def to_millicores(value: object) -> float:
    """A CPU quantity in millicores."""
    return float(quantity(value, "CPU quantity") * 1000)


def memory_text(size: int) -> str:
    """Bytes as the largest binary unit that divides them (4294967296 -> 4Gi)."""
    for suffix, factor in BINARY:
        if size >= factor and size % factor == 0:
            return f"{size // factor}{suffix}"
    return str(size)
