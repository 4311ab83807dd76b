"""Label selectors (`app=x,tier in (a,b),!legacy`) and field selectors (`status.phase=Running`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jeju_lab.kube_double.api_errors import bad_request

Obj = dict[str, Any]

_SET_RE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s*\(([^)]*)\)\s*$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # "!=" and "notin"


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text: str | None) -> list[Requirement]:
    requirements = []
    for term in _split_top_level(text or ""):
        set_match = _SET_RE.match(term)
        if set_match:
            values = tuple(v.strip() for v in set_match.group(3).split(",") if v.strip())
            requirements.append(Requirement(set_match.group(1), set_match.group(2), values))
        elif "!=" in term:
            key, value = term.split("!=", 1)
            requirements.append(Requirement(key.strip(), "!=", (value.strip(),)))
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            requirements.append(Requirement(key.strip(), "=", (value.strip(),)))
        elif term.startswith("!"):
            requirements.append(Requirement(term[1:].strip(), "!exists"))
        elif re.fullmatch(r"[A-Za-z0-9._/-]+", term):
            requirements.append(Requirement(term, "exists"))
        else:
            raise bad_request(f"unable to parse requirement: {term!r} in label selector {text!r}")
    return requirements


def requirements_from_selector(selector: Obj | None) -> list[Requirement]:
    """Requirements from a `spec.selector` object (matchLabels and matchExpressions)."""
    if not selector:
        return []
    requirements = [Requirement(k, "=", (str(v),)) for k, v in (selector.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for expression in selector.get("matchExpressions") or []:
        op = ops[expression["operator"]]
        requirements.append(Requirement(expression["key"], op, tuple(expression.get("values") or ())))
    return requirements


def selector_string(selector: Obj | None) -> str:
    """The text form of a `spec.selector`, as Scale.status.selector carries it."""
    terms = []
    for req in requirements_from_selector(selector):
        if req.op == "=":
            terms.append(f"{req.key}={req.values[0]}")
        elif req.op in ("in", "notin"):
            terms.append(f"{req.key} {req.op} ({','.join(req.values)})")
        else:
            terms.append(req.key if req.op == "exists" else f"!{req.key}")
    return ",".join(terms)


def labels_match(requirements: list[Requirement], obj: Obj) -> bool:
    if not requirements:
        return True
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return all(req.matches(labels) for req in requirements)


@dataclass(frozen=True)
class FieldRequirement:
    path: tuple[str, ...]
    value: str
    negate: bool

    def matches(self, obj: Obj) -> bool:
        current: Any = obj
        for part in self.path:
            current = current.get(part) if isinstance(current, dict) else None
        text = "" if current is None else str(current)
        return (text == self.value) != self.negate


def parse_field_selector(text: str | None) -> list[FieldRequirement]:
    requirements = []
    for term in _split_top_level(text or ""):
        negate = "!=" in term
        key, sep, value = term.partition("!=" if negate else "=")
        if not sep:
            raise bad_request(f"invalid field selector {text!r}: expected field=value or field!=value")
        requirements.append(FieldRequirement(tuple(key.strip().split(".")), value.lstrip("=").strip(), negate))
    return requirements


def fields_match(requirements: list[FieldRequirement], obj: Obj) -> bool:
    return all(req.matches(obj) for req in requirements)
