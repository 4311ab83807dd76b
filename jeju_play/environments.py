"""Environments: load an inventory (inventories/<env> or a path) and refuse it unless it is complete and sane.

Only YAML is read here (no Ansible import): validation must be fast and must run before anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jeju_play import yamlio
from jeju_play.errors import InvalidInventory, UnknownEnvironment

PLACEHOLDER = "PLACEHOLDER"
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_URL = re.compile(r"^(https?|wss?)://[^\s/]+(/\S*)?$")


@dataclass
class Environment:
    name: str
    path: Path
    variables: dict[str, Any]
    sources: dict[str, Path] = field(default_factory=dict)  # variable -> file that set it

    @property
    def production(self) -> bool:
        return bool(self.variables.get("jeju_production", False))

    def secret_values(self) -> list[str]:
        """Values of vault_* variables, so that the record can be scrubbed of them."""
        found: list[str] = []
        for key, value in self.variables.items():
            if key.startswith("vault_"):
                found += [str(v) for v in _leaves(value) if v is not None and len(str(v)) >= 8]
        return found


def available(root: Path) -> list[str]:
    base = root / "inventories"
    return sorted(p.name for p in base.iterdir() if (p / "group_vars").is_dir()) if base.is_dir() else []


def resolve(root: Path, name_or_path: str) -> Path:
    candidate = root / "inventories" / name_or_path
    if "/" not in name_or_path and candidate.is_dir():
        return candidate
    path = Path(name_or_path).expanduser()
    if path.is_dir() and (path / "group_vars").is_dir():
        return path.resolve()
    names = ", ".join(available(root)) or "none"
    raise UnknownEnvironment(
        f"Unknown environment '{name_or_path}'. Environments: {names} "
        f"(or give the path of an inventory directory with group_vars/)."
    )


def load(root: Path, name_or_path: str) -> Environment:
    path = resolve(root, name_or_path)
    variables: dict[str, Any] = {}
    sources: dict[str, Path] = {}
    files = [path / "hosts.yml"] if (path / "hosts.yml").is_file() else []
    group_dir = path / "group_vars" / "all"
    files += sorted(group_dir.glob("*.yml")) + sorted(group_dir.glob("*.yaml"))
    single = path / "group_vars" / "all.yml"
    if single.is_file():
        files.append(single)
    for file in files:
        data = _read_yaml(file)
        if file.name == "hosts.yml":
            continue
        if _is_vault(file):
            continue
        for key, value in data.items():
            variables[key] = value
            sources[key] = file
    env = Environment(name=str(variables.get("jeju_environment", path.name)), path=path,
                      variables=variables, sources=sources)
    validate(root, env)
    return env


def _is_vault(file: Path) -> bool:
    with file.open("rb") as handle:
        return handle.read(14) == b"$ANSIBLE_VAULT"


def _read_yaml(file: Path) -> dict[str, Any]:
    if _is_vault(file):
        return {}
    try:
        data = yamlio.load(file.read_text(encoding="utf-8"))
    except yamlio.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise InvalidInventory(f"{file}{where}: {problem}. Fix the file (yamllint {file}).") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInventory(f"{file} must be a mapping of variables, not {type(data).__name__}.")
    return data


def validate(root: Path, env: Environment) -> None:
    schema = _read_yaml(root / "inventories" / "schema.yml").get("variables", {})
    generated = env.variables.get("jeju_generated_vars_file")
    for name, spec in schema.items():
        where = env.sources.get(name, env.path / "group_vars" / "all" / "vars.yml")
        if name not in env.variables:
            if generated and not (env.path / "group_vars" / "all" / generated).is_file():
                raise InvalidInventory(
                    f"{name} is not set for environment '{env.name}': it is written to "
                    f"{env.path / 'group_vars' / 'all' / generated} by `{env.variables.get('jeju_generated_by')}`."
                    " Start it first."
                )
            raise InvalidInventory(f"{name} is missing from {where}: add it (see inventories/schema.yml).")
        _check(name, env.variables[name], spec, where)


def _check(name: str, value: Any, spec: Any, where: Path) -> None:
    kind = spec if isinstance(spec, str) else spec.get("type", "str")
    if isinstance(value, str) and value.startswith(PLACEHOLDER):
        raise InvalidInventory(
            f"{name} in {where} is still a placeholder ({value}). Fill in the real value before running here."
        )
    if isinstance(value, str) and "{{" in value:
        return  # templated: Ansible renders it at run time
    problem = _type_problem(kind, value)
    if problem:
        raise InvalidInventory(f"{name} in {where} {problem}.")
    if kind == "mapping" and isinstance(spec, dict):
        for key, key_spec in (spec.get("keys") or {}).items():
            if key not in value:
                raise InvalidInventory(f"{name}.{key} is missing from {where}.")
            _check(f"{name}.{key}", value[key], key_spec, where)


def _type_problem(kind: str, value: Any) -> str | None:
    checks = {
        "str": lambda v: isinstance(v, str) and v != "",
        "path": lambda v: isinstance(v, str) and v != "",
        "bool": lambda v: isinstance(v, bool),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "chain_id": lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
        "mapping": lambda v: isinstance(v, dict),
    }
    if kind == "address":
        return None if isinstance(value, str) and _ADDRESS.match(value) else (
            f"is not an address (0x and 40 hex digits): {value!r}")
    if kind == "url":
        return None if isinstance(value, str) and _URL.match(value) else f"is not a URL: {value!r}"
    if kind == "url_list":
        if not isinstance(value, list) or not value:
            return "must be a non-empty list of URLs, primary first"
        for item in value:
            if isinstance(item, str) and item.startswith(PLACEHOLDER):
                return f"still holds a placeholder ({item}); fill it in or remove it"
            if not (isinstance(item, str) and _URL.match(item)):
                return f"holds something that is not a URL: {item!r}"
        return None
    check = checks.get(kind)
    if check is None:
        return f"has an unknown schema type {kind}"
    return None if check(value) else f"must be {kind.replace('_', ' ')}, got {value!r}"


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]
