"""Environments: load an inventory (inventories/<env> or a path) and refuse it unless it is complete and sane.

Every environment is read on top of inventories/shared (the settings all environments share), as Ansible reads
them when given both inventories (`-i inventories/shared -i inventories/<env>`): the environment's values win.
Only YAML is read here (no Ansible import): validation must be fast and must run before anything else.

What "sane" means is published as a JSON Schema (inventories/schema.json, draft 2020-12: types, ranges, patterns,
required keys, no unknown jeju_* keys), plus the rules across fields that a schema cannot say (below, `_RULES`).
Every problem is reported at once, each with its file, line and key: bytes that are not UTF-8, a key given twice
in one mapping, YAML that does not parse, a missing hosts.yml, a group without hosts, a placeholder, a value out
of range. A value that starts with PLACEHOLDER is a fact nobody knows yet (refused); a value with `{{` is rendered
by Ansible at run time (not checked here).
"""

from __future__ import annotations

import bisect
import difflib
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from jeju_play.errors import InvalidInventory, UnknownEnvironment

PLACEHOLDER = "PLACEHOLDER"
SHARED = "shared"  # inventories/shared: what every environment shares
SCHEMA = "schema.json"  # inventories/schema.json
_MAX_NODES = 200_000  # YAML nodes visited per file, aliases expanded (an alias bomb is refused, not walked)

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an inventory: the sentence says the key, the file and the line, and what to do."""

    message: str
    file: Path | None = None
    line: int | None = None
    key: str = ""

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.message, "file": str(self.file) if self.file else None, "line": self.line,
                "key": self.key}


@dataclass
class Environment:
    name: str
    path: Path
    variables: dict[str, Any]
    sources: dict[str, Path] = field(default_factory=dict)  # variable -> file that set it
    shared: Path | None = None  # inventories/shared, read before this environment
    lines: dict[Path, dict[KeyPath, int]] = field(default_factory=dict)  # file -> key path -> line (1-based)
    unreadable: list[Path] = field(default_factory=list)  # vars files that could not be read (not UTF-8, bad YAML)

    @property
    def production(self) -> bool:
        return bool(self.variables.get("jeju_production", False))

    @property
    def has_cluster(self) -> bool:
        """Whether the environment names a Kubernetes cluster (the lock and the freeze live there)."""
        return bool(self.variables.get("jeju_kubeconfig")) and "jeju_kube_context" in self.variables

    @property
    def inventories(self) -> list[Path]:
        """The inventory sources, in the order Ansible must read them."""
        return [p for p in (self.shared, self.path) if p is not None]

    def secret_values(self) -> list[str]:
        """Values of vault_* variables, so that the record can be scrubbed of them."""
        found: list[str] = []
        for key, value in self.variables.items():
            if key.startswith("vault_"):
                found += [str(v) for v in _leaves(value) if v is not None and len(str(v)) >= 8]
        return found

    def line_of(self, path: KeyPath) -> int | None:
        """The line of a variable (or of a key inside it) in the file it came from; else of its nearest parent."""
        source = self.sources.get(str(path[0])) if path else None
        lines = self.lines.get(source, {}) if source else {}
        for end in range(len(path), 0, -1):
            if path[:end] in lines:
                return lines[path[:end]]
        return None


def available(root: Path) -> list[str]:
    base = root / "inventories"
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "group_vars").is_dir() and p.name != SHARED)


def shared_inventory(root: Path) -> Path | None:
    shared = root / "inventories" / SHARED
    return shared if (shared / "group_vars").is_dir() else None


def resolve(root: Path, name_or_path: str) -> Path:
    try:
        if name_or_path in available(root):
            return root / "inventories" / name_or_path
        path = Path(name_or_path).expanduser()
        if path.is_dir() and (path / "group_vars").is_dir():
            return path.resolve()
    except (OSError, ValueError, RuntimeError):  # a name too long, a NUL byte, a user ~ that does not exist
        pass
    names = ", ".join(available(root)) or "none"
    raise UnknownEnvironment(
        f"Unknown environment '{name_or_path}'. Environments: {names} "
        f"(or give the path of an inventory directory with group_vars/)."
    )


def load(root: Path, name_or_path: str) -> Environment:
    """The environment, validated; InvalidInventory lists every problem (one per line) when it is not sane."""
    env, problems = check(root, name_or_path)
    if problems:
        raise InvalidInventory(summarize(env, problems))
    return env


def summarize(env: Environment, problems: list[Problem]) -> str:
    if len(problems) == 1:
        return problems[0].message
    listed = "".join(f"\n  - {p.message}" for p in problems)
    return f"{len(problems)} problems in environment '{env.name}' ({env.path}); fix them and run again:{listed}"


def check(root: Path, name_or_path: str) -> tuple[Environment, list[Problem]]:
    """Read the environment on top of inventories/shared and return it with every problem found (none: sane).

    Raises only when there is nothing to check: an unknown environment, or a schema that cannot be read.
    """
    path = resolve(root, name_or_path)
    shared = shared_inventory(root)
    if shared == path:
        shared = None
    problems: list[Problem] = []
    variables: dict[str, Any] = {}
    sources: dict[str, Path] = {}
    lines: dict[Path, dict[KeyPath, int]] = {}
    unreadable: list[Path] = []
    for inventory in (shared, path):
        if inventory is None:
            continue
        problems += _hosts_problems(inventory, own=inventory == path)
        for file in _vars_files(inventory):
            parsed = _read(file)
            problems += parsed.problems
            lines[file] = parsed.lines
            if parsed.raw is None and parsed.problems:
                unreadable.append(file)
            for key, value in parsed.data.items():
                variables[key] = value
                sources[key] = file
    name = variables.get("jeju_environment")
    env = Environment(name=name if isinstance(name, str) and name else path.name, path=path, variables=variables,
                      sources=sources, shared=shared, lines=lines, unreadable=unreadable)
    problems += validate(root, env)
    return env, problems


def validate(root: Path, env: Environment) -> list[Problem]:
    """The merged variables against inventories/schema.json and the rules across fields."""
    validator, schema_path = _validator(root)
    problems: list[Problem] = []
    instance = {k: _plain(v) for k, v in env.variables.items()}
    problems += _placeholders(env)
    problems += _non_finite(env)
    missing: list[str] = []
    invalid: list[KeyPath] = []
    try:
        errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    except Exception as exc:  # the schema itself does not hold (an unknown type, a bad pattern, a dangling $ref)
        raise _broken_schema(schema_path, exc) from exc
    for error in errors:
        path: KeyPath = tuple(error.absolute_path)
        invalid.append(path)
        if _suppressed(env.variables, path):
            continue
        if error.validator == "required" and not path:
            missing += [name for name in error.validator_value if name not in instance and name not in missing]
            continue
        problems += _explain(env, error, path, schema_path)
    if missing and not env.unreadable:  # a file that could not be read may well hold them
        problems += _missing(env, missing, schema_path)
    checked = replace(env, variables=_without(env.variables, invalid))  # rules compare only valid values
    problems += [p for rule in _RULES for p in rule(checked)]
    return _ordered(problems)


def _without(variables: dict[str, Any], paths: list[KeyPath]) -> dict[str, Any]:
    """A copy of the variables with None at `paths` (the values the schema refused)."""
    pruned: dict[str, Any] = _plain(variables)
    for path in paths:
        if not path:
            continue
        parent: Any = pruned
        for part in path[:-1]:
            parent = parent.get(str(part)) if isinstance(parent, dict) else (
                parent[part] if isinstance(parent, list) and isinstance(part, int) and part < len(parent) else None)
        if isinstance(parent, dict) and str(path[-1]) in parent:
            parent[str(path[-1])] = None  # still there (a key that exists), but no value to compare
        elif isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
            parent[path[-1]] = None
    return pruned


# ---- reading files: UTF-8, YAML, duplicate keys and the line of every key ----

@dataclass
class _Parsed:
    data: dict[str, Any] = field(default_factory=dict)
    lines: dict[KeyPath, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    raw: Any = None  # the document as YAML read it (hosts.yml is a mapping of groups, not of variables)


class VaultValue(str):
    """An inline `!vault |` value: Ansible decrypts it at run time; it is a secret and never checked here."""


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader, plus the two tags Ansible adds: `!vault` (inline encrypted values) and `!unsafe`."""


_Loader.add_constructor("!vault", lambda loader, node: VaultValue(loader.construct_scalar(node)))
_Loader.add_constructor("!unsafe", lambda loader, node: str(loader.construct_scalar(node)))
_MERGE = "tag:yaml.org,2002:merge"


def _vars_files(inventory: Path) -> list[Path]:
    group_dir = inventory / "group_vars" / "all"
    files = sorted([*group_dir.glob("*.yml"), *group_dir.glob("*.yaml")], key=lambda p: p.name)
    files += [single for single in (inventory / "group_vars" / "all.yml", inventory / "group_vars" / "all.yaml")
              if single.is_file()]
    return [f for f in files if f.is_file()]


def _read(file: Path) -> _Parsed:
    """One vars file: its variables, the line of each key, and what is wrong with it (nothing raises)."""
    parsed = _Parsed()
    try:
        raw = file.read_bytes()
    except OSError as exc:
        parsed.problems.append(Problem(f"{file} cannot be read: {exc.strerror or exc}.", file))
        return parsed
    if raw.startswith(b"$ANSIBLE_VAULT"):
        return parsed  # an encrypted vault file: secrets only, decrypted by Ansible
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        parsed.problems.append(Problem(
            f"{file} line {line} column {column}: byte 0x{raw[exc.start]:02x} is not UTF-8. "
            "Save the file as UTF-8 (iconv -f latin1 -t utf-8, or your editor's encoding menu).", file, line))
        return parsed
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            walk = _Walk(file, _Lines(text))
            walk.node(node, ())
            parsed.lines, parsed.problems = walk.lines, walk.problems
            if not walk.fatal:
                parsed.raw = loader.construct_document(node)
    except yaml.YAMLError as exc:
        parsed.problems.append(_yaml_problem(file, text, exc))
        return parsed
    except (ValueError, TypeError, OverflowError) as exc:  # a timestamp such as 2024-13-45 (PyYAML raises)
        parsed.problems.append(Problem(f"{file}: a value cannot be read ({' '.join(str(exc).split())}). Quote it if "
                                       "it is a string.", file))
        return parsed
    finally:
        loader.dispose()
    if parsed.raw is None or file.name.startswith("hosts."):
        return parsed
    if not isinstance(parsed.raw, dict):
        parsed.problems.append(Problem(
            f"{file} line 1 must be a mapping of variables (name: value), not a {_kind(parsed.raw)}.", file, 1))
        return parsed
    for key, value in parsed.raw.items():
        if isinstance(key, str):
            parsed.data[key] = value
        else:
            spellings = [str(key), str(key).lower(), *(["null", "~", ""] if key is None else [])]
            key_line = next((parsed.lines[(k,)] for k in spellings if (k,) in parsed.lines), None)
            parsed.problems.append(Problem(
                f"{key!r} in {file}{_line(key_line)} is not a variable name: names are strings (quote it, or fix the "
                "indentation).", file, key_line, str(key)))
    return parsed


class _Lines:
    """Lines as editors count them (after each \\n), not as YAML does (which also breaks at \\r, NEL and U+2028)."""

    def __init__(self, text: str):
        self._text = text
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line(self, index: int) -> int:
        return bisect.bisect_right(self._starts, index)

    def column(self, index: int) -> int:
        return index - self._starts[self.line(index) - 1] + 1


class _Walk:
    """The line of every key and list item, keys given twice in one mapping, and aliases that never end."""

    def __init__(self, file: Path, lines: _Lines):
        self.file = file
        self._line = lines.line
        self.lines: dict[KeyPath, int] = {}
        self.problems: list[Problem] = []
        self.fatal = False
        self._active: set[int] = set()
        self._visited = 0

    def node(self, node: yaml.Node, path: KeyPath) -> None:
        self._visited += 1
        if self.fatal:
            return
        if self._visited > _MAX_NODES:
            self.fatal = True
            self.problems.append(Problem(
                f"{self.file}: more than {_MAX_NODES} values once its aliases are expanded; write it out plainly.",
                self.file))
            return
        if id(node) in self._active:
            self.fatal = True
            line = self._line(node.start_mark.index)
            self.problems.append(Problem(
                f"{_dotted(path) or 'a value'} in {self.file} line {line} contains itself (a recursive alias).",
                self.file, line, _dotted(path)))
            return
        self._active.add(id(node))
        if isinstance(node, yaml.MappingNode):
            self._mapping(node, path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.lines.setdefault((*path, index), self._line(item.start_mark.index))
                self.node(item, (*path, index))
        self._active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> None:
        seen: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self.node(value_node, path)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # the constructor says why (an unhashable key)
            line = self._line(key_node.start_mark.index)
            identity = (key_node.tag, key_node.value)
            key_path = (*path, key_node.value)
            if identity in seen:
                self.problems.append(Problem(
                    f"{_dotted(key_path)} in {self.file} line {line} is given twice (lines {seen[identity]} and "
                    f"{line}); YAML keeps only the last. Keep one.", self.file, line, _dotted(key_path)))
            else:
                seen[identity] = line
            self.lines[key_path] = line
            self.node(value_node, key_path)


def _yaml_problem(file: Path, text: str, exc: yaml.YAMLError) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        line, column = _Lines(text).line(mark.index), _Lines(text).column(mark.index)
    elif isinstance(getattr(exc, "position", None), int):  # a ReaderError: a character YAML does not allow
        position = int(getattr(exc, "position", 0))
        line, column = _Lines(text).line(position), _Lines(text).column(position)
    else:
        line = column = 0
    where = f" line {line} column {column}" if line else ""
    problem = " ".join(str(getattr(exc, "problem", None) or getattr(exc, "reason", None) or "malformed YAML").split())
    return Problem(f"{file}{where}: {problem}. Fix the file (yamllint {file}).", file, line or None)


# ---- hosts.yml ----

_GROUP_KEYS = ("hosts", "vars", "children")


def _hosts_problems(inventory: Path, *, own: bool) -> list[Problem]:
    """hosts.yml: present, and (for the environment's own inventory) every group holds at least one host."""
    file = inventory / "hosts.yml"
    if not file.is_file():
        if not own:
            return []
        return [Problem(f"{file} is missing: every environment names the host its playbooks run on there "
                        "(copy inventories/local/hosts.yml: the control node, ansible_connection: local).", file)]
    parsed = _read(file)
    if parsed.problems or not own:
        return parsed.problems
    if not isinstance(parsed.raw, dict) or not parsed.raw:
        return [Problem(f"{file} line 1 names no group: add `all: {{hosts: {{jeju-control: {{ansible_connection: "
                        "local}}}}}`.", file, 1)]
    problems: list[Problem] = []
    for name, group in parsed.raw.items():
        _group_hosts(file, parsed.lines, (str(name),), group, problems)
    return problems


def _group_hosts(file: Path, lines: dict[KeyPath, int], path: KeyPath, group: Any,
                 problems: list[Problem]) -> set[str]:
    line = lines.get(path)
    name = _quoted(path[-1])
    if group is None:
        group = {}
    if not isinstance(group, dict):
        problems.append(Problem(f"group {name} in {file}{_line(line)} must be a mapping of hosts, vars and "
                                f"children, not a {_kind(group)}.", file, line, _dotted(path)))
        return set()
    for key in group:
        if key not in _GROUP_KEYS:
            near = difflib.get_close_matches(str(key), _GROUP_KEYS, n=1)
            key_line = lines.get((*path, key))
            problems.append(Problem(
                f"group {name} in {file}{_line(key_line)} has {_quoted(key)}, which Ansible does not read"
                + (f": did you mean {near[0]}?" if near else f" (a group holds {', '.join(_GROUP_KEYS)})."),
                file, key_line, _dotted((*path, key))))
    hosts = group.get("hosts")
    found: set[str] = set()
    if isinstance(hosts, dict):
        found |= {str(h) for h in hosts}
    elif hosts is not None:
        hosts_line = lines.get((*path, "hosts"))
        problems.append(Problem(f"hosts of group {name} in {file}{_line(hosts_line)} must be a mapping "
                                f"(host: its variables), not a {_kind(hosts)}.", file, hosts_line))
    children = group.get("children")
    if isinstance(children, dict):
        for child, child_group in children.items():
            found |= _group_hosts(file, lines, (*path, "children", str(child)), child_group, problems)
    elif children is not None:
        problems.append(Problem(f"children of group {name} in {file} must be a mapping of groups.", file, line))
    if not found:
        problems.append(Problem(f"group {name} in {file}{_line(line)} has no hosts: playbooks would run on "
                                "nothing. Add its host (jeju-control: {ansible_connection: local}) or remove the "
                                "group.", file, line, _dotted(path)))
    return found


# ---- the schema ----

_VALIDATORS: dict[tuple[Path, int, int], Any] = {}


def _validator(root: Path) -> tuple[Any, Path]:
    """A draft 2020-12 validator of #/$defs/environment, compiled once per schema file (and per change of it)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    path = root / "inventories" / SCHEMA
    try:
        stat = path.stat()
    except OSError as exc:
        raise InvalidInventory(f"{path} is missing ({exc.strerror}): it says what every environment must define."
                               ) from exc
    cache_key = (path, stat.st_mtime_ns, stat.st_size)
    if cache_key in _VALIDATORS:
        return _VALIDATORS[cache_key], path
    try:  # not checked against the metaschema here (0.1-0.2 s); CI does, and a broken one is explained when used
        schema = json.loads(path.read_text(encoding="utf-8"))
        base = str(schema["$id"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInventory(f"{path} is not a valid JSON Schema with an $id ({exc}). Fix it first.") from exc
    registry: Registry[Any] = Registry().with_resource(base, Resource.from_contents(
        schema, default_specification=DRAFT202012))
    environment = schema.get("$defs", {}).get("environment", {})
    if environment.get("$ref") == "#":  # the usual shape: validate the root's keywords, inlined, plus `required`
        body = {k: v for k, v in schema.items() if k not in ("$defs", "$id")}
        target = {**_inline(body, schema["$defs"], set()), **{k: v for k, v in environment.items() if k != "$ref"}}
    else:
        target = {"$ref": f"{base}#/$defs/environment"}
    validator = Draft202012Validator(target, registry=registry)
    _VALIDATORS[cache_key] = validator
    return validator, path


def _broken_schema(path: Path, exc: Exception) -> InvalidInventory:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))
        detail = f"{type(exc).__name__}: {exc}"
    except SchemaError as problem:
        detail = problem.message
    except (OSError, ValueError) as problem:
        detail = str(problem)
    return InvalidInventory(f"{path} is not a valid JSON Schema ({' '.join(detail.split())[:300]}). Fix it first.")


def _inline(node: Any, defs: dict[str, Any], seen: set[str]) -> Any:
    """The schema with its #/$defs/ references replaced by their targets: the same verdicts, a third of the time
    (jsonschema resolves each $ref at every use). A reference that loops or points elsewhere is left as it is."""
    if isinstance(node, list):
        return [_inline(item, defs, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    name = ref[len("#/$defs/"):] if isinstance(ref, str) and ref.startswith("#/$defs/") else None
    if name is not None and name in defs and name not in seen and isinstance(defs[name], dict):
        target = _inline(defs[name], defs, seen | {name})
        return {**target, **{k: _inline(v, defs, seen) for k, v in node.items() if k != "$ref"}}
    return {k: (_inline(v, defs, seen) if k not in ("enum", "const") else v) for k, v in node.items()}


def _skipped(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith(PLACEHOLDER) or "{{" in value or isinstance(value, VaultValue))


def _plain(value: Any) -> Any:
    """The value as JSON Schema sees it: mapping keys as strings (YAML allows 1: or true: as keys)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _at_path(variables: dict[str, Any], path: KeyPath) -> Iterator[Any]:
    """The values along a key path, outermost first."""
    value: Any = variables
    for part in path:
        if isinstance(value, dict):
            matches = [v for k, v in value.items() if str(k) == str(part)]
            if not matches:
                return
            value = matches[0]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            return
        yield value


def _suppressed(variables: dict[str, Any], path: KeyPath) -> bool:
    """Errors about a placeholder (reported as such) or a template (rendered later) are not reported again."""
    return any(_skipped(value) for value in _at_path(variables, path))


def _placeholders(env: Environment) -> list[Problem]:
    problems: list[Problem] = []
    for key, value in env.variables.items():
        for path, leaf in _leaf_paths(value, (key,)):
            if isinstance(leaf, str) and leaf.startswith(PLACEHOLDER):
                where = env.sources.get(key)
                line = env.line_of(path)
                at = f"line {line}: " if line else ""
                problems.append(Problem(
                    f"{_dotted(path)} in {where} is still a placeholder ({at}{leaf}). "
                    "Fill in the real value before running here.", where, line, _dotted(path)))
    return problems


def _non_finite(env: Environment) -> list[Problem]:
    problems: list[Problem] = []
    for key, value in env.variables.items():
        if not key.startswith("jeju_"):
            continue
        for path, leaf in _leaf_paths(value, (key,)):
            if isinstance(leaf, float) and not math.isfinite(leaf):
                where, line = env.sources.get(key), env.line_of(path)
                problems.append(Problem(f"{_dotted(path)} in {where}{_line(line)} must be a finite number, "
                                        f"got {leaf}.", where, line, _dotted(path)))
    return problems


def _leaf_paths(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaf_paths(v, (*path, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaf_paths(v, (*path, i))
    else:
        yield path, value


def _explain(env: Environment, error: Any, path: KeyPath, schema_path: Path) -> list[Problem]:
    """A jsonschema error as sentences that name the key, the file and the line."""
    kind = error.validator
    where = env.sources.get(str(path[0])) if path else None
    if kind == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        extras = [k for k in (error.instance or {}) if k not in known and not (
            not path and not str(k).startswith("jeju_"))]
        return [_unknown(env, (*path, k), known, schema_path) for k in extras]
    if kind == "required":
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        line = env.line_of(path)
        return [Problem(f"{_dotted((*path, name))} is missing from {where} ({_dotted(path)}{_line(line, ', ')}): "
                        f"add it (see {schema_path}).", where, line, _dotted((*path, name))) for name in missing]
    line = env.line_of(path)
    key = _dotted(path)
    if kind == "propertyNames":
        return [Problem(f"{key} in {where}{_line(line)} has the key {_show(error.instance)}, which "
                        f"{_expected(error)}.", where, line, key)]
    return [Problem(f"{key} in {where}{_line(line)} {_predicate(error)}.", where, line, key)]


def _unknown(env: Environment, path: KeyPath, known: list[str], schema_path: Path) -> Problem:
    name = str(path[-1])
    where = env.sources.get(str(path[0]))
    line = env.line_of(path)
    candidates = [k for k in known if k.startswith("jeju_")] if len(path) == 1 else known
    near = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if len(path) == 1:
        what = f"is not a jeju-play variable ({schema_path} lists them)"
    else:
        what = f"is not a key of {_dotted(path[:-1])} (it has {', '.join(known)})"
    hint = f": did you mean {near[0]}?" if near else "."
    return Problem(f"{_dotted(path)} in {where}{_line(line)} {what}{hint}", where, line, _dotted(path))


def _missing(env: Environment, names: list[str], schema_path: Path) -> list[Problem]:
    generated = env.variables.get("jeju_generated_vars_file")
    if isinstance(generated, str) and re.fullmatch(r"[^/\\\x00]+\.ya?ml", generated):
        target = env.path / "group_vars" / "all" / generated
        if not target.is_file():
            by = env.variables.get("jeju_generated_by") or "the tool that generates it"
            subject, verb, pronoun = (names[0], "is", "it is") if len(names) == 1 else (
                ", ".join(names), "are", "they are")
            return [Problem(f"{subject} {verb} not set for environment '{env.name}': {pronoun} written to {target} "
                            f"by `{by}`. Start it first.", target, None, names[0])]
    default = env.path / "group_vars" / "all" / "vars.yml"
    return [Problem(f"{name} is missing from {default}: add it (see {schema_path}).", default, None, name)
            for name in names]


_TYPES = {"integer": "a whole number", "number": "a number", "boolean": "true or false", "string": "a string",
          "object": "a mapping (key: value)", "array": "a list", "null": "empty"}


def _expected(error: Any) -> str:
    title = error.schema.get("title") if isinstance(error.schema, dict) else None
    if title:
        return f"must be {title}"
    if error.validator == "pattern":
        return f"must match {error.validator_value}"
    kinds = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    return "must be " + " or ".join(_TYPES.get(str(k), str(k)) for k in kinds)


def _predicate(error: Any) -> str:
    kind, limit, got = error.validator, error.validator_value, _show(error.instance)
    sentences: dict[str, Callable[[], str]] = {
        "type": lambda: f"{_expected(error)}, got {got}",
        "pattern": lambda: f"{_expected(error)}, got {got}",
        "minimum": lambda: f"must be at least {limit}, got {got}",
        "exclusiveMinimum": lambda: f"must be more than {limit}, got {got}",
        "maximum": lambda: f"must be at most {limit}, got {got}",
        "exclusiveMaximum": lambda: f"must be less than {limit}, got {got}",
        "minItems": lambda: "must not be empty: list at least one, primary first" if limit == 1 else
        f"must list at least {limit}",
        "maxItems": lambda: f"must list at most {limit}",
        "uniqueItems": lambda: f"lists the same item twice: {got}",
        "minLength": lambda: "must not be empty" if limit == 1 else f"must be at least {limit} characters",
        "maxLength": lambda: f"must be at most {limit} characters, got {len(error.instance)}",
        "enum": lambda: f"must be one of {', '.join(_show(v) for v in limit)}, got {got}",
        "const": lambda: f"must be {_show(limit)}, got {got}",
    }
    sentence = sentences.get(str(kind))
    return sentence() if sentence else f"is not valid: {error.message}"


# ---- rules across fields (a schema cannot compare two values) ----

def _number(env: Environment, path: KeyPath) -> float | None:
    values = list(_at_path(env.variables, path))
    if len(values) != len(path):
        return None
    value = values[-1]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")


def memory_bytes(quantity: Any) -> float | None:
    """A Kubernetes memory quantity (512Mi, 2Gi, 1G) in bytes; None when it is not one."""
    match = _QUANTITY.match(quantity) if isinstance(quantity, str) else None
    return float(match.group(1)) * _UNITS[match.group(2) or ""] if match else None


def _compare(env: Environment, small: KeyPath, large: KeyPath, *, strict: bool, why: str,
             value: Callable[[Environment, KeyPath], float | None] = _number) -> list[Problem]:
    """`small` must be less than (strict) or at most `large`; nothing to say while either is not a valid value."""
    a, b = value(env, small), value(env, large)
    if a is None or b is None or (a < b if strict else a <= b):
        return []
    where, line = env.sources.get(str(small[0])), env.line_of(small)
    other = f"{_dotted(large)} ({_show(list(_at_path(env.variables, large))[-1])}" + (
        f", line {env.line_of(large)})" if env.line_of(large) else ")")
    relation = "less than" if strict else "at most"
    return [Problem(f"{_dotted(small)} in {where}{_line(line)} is {_show(list(_at_path(env.variables, small))[-1])}:"
                    f" it must be {relation} {other}; {why}.", where, line, _dotted(small))]


def _memory(env: Environment, path: KeyPath) -> float | None:
    values = list(_at_path(env.variables, path))
    return memory_bytes(values[-1]) if len(values) == len(path) else None


def _funding(env: Environment) -> list[Problem]:
    problems = _compare(env, ("jeju_funding", "max_transfer_eth"), ("jeju_funding", "daily_cap_eth"), strict=False,
                        why="one transfer cannot send more than a day may")
    recipients = env.variables.get("jeju_funding", {})
    recipients = recipients.get("recipients") if isinstance(recipients, dict) else None
    addresses = env.variables.get("jeju_addresses")
    for name in recipients if isinstance(recipients, dict) else {}:
        base: KeyPath = ("jeju_funding", "recipients", str(name))
        problems += _compare(env, (*base, "min_eth"), (*base, "target_eth"), strict=True,
                             why="a top-up raises a balance from below its low mark to its target")
        if isinstance(addresses, dict) and not _skipped(addresses) and str(name) not in addresses:
            where, line = env.sources.get("jeju_funding"), env.line_of(base)
            problems.append(Problem(f"{_dotted(base)} in {where}{_line(line)} has no address: add "
                                    f"jeju_addresses.{name} (only named accounts are funded).", where, line,
                                    _dotted(base)))
    return problems


def _memory_rules(env: Environment) -> list[Problem]:
    step = ("jeju_network_down", "memory_step")
    problems = _compare(env, step, ("jeju_network_down", "memory_max"), strict=True, value=_memory,
                        why="the limit is raised by the step, up to the maximum")
    if _memory(env, step) == 0:
        where, line = env.sources.get(step[0]), env.line_of(step)
        problems.append(Problem(f"{_dotted(step)} in {where}{_line(line)} must be more than 0.", where, line,
                                _dotted(step)))
    return problems


def _chain_ids(env: Environment) -> list[Problem]:
    l1, l2 = env.variables.get("jeju_l1_chain_id"), env.variables.get("jeju_l2_chain_id")
    if isinstance(l1, int) and not isinstance(l1, bool) and l1 == l2:
        where, line = env.sources.get("jeju_l2_chain_id"), env.line_of(("jeju_l2_chain_id",))
        return [Problem(f"jeju_l2_chain_id in {where}{_line(line)} is {l2}, the same as jeju_l1_chain_id: Jeju "
                        "and the chain it settles on have different ids.", where, line, "jeju_l2_chain_id")]
    return []


def _statuspage(env: Environment) -> list[Problem]:
    """A status page is configured whole (api_url, page_id, components) or not at all."""
    page = env.variables.get("jeju_statuspage")
    if not isinstance(page, dict) or not page:
        return []
    missing = [key for key in ("api_url", "page_id", "components") if key not in page]
    if not missing:
        return []
    where, line = env.sources.get("jeju_statuspage"), env.line_of(("jeju_statuspage",))
    return [Problem(f"jeju_statuspage in {where}{_line(line)} lacks {', '.join(missing)}: give api_url, page_id "
                    "and components, or leave it empty ({}) for no status page.", where, line, "jeju_statuspage")]


_RULES: list[Callable[[Environment], list[Problem]]] = [
    _funding,
    _statuspage,
    _memory_rules,
    _chain_ids,
    lambda env: _compare(env, ("jeju_batcher_failing", "fee_limit_gwei"), ("jeju_batcher_failing",
                         "fee_limit_max_gwei"), strict=False, why="the fee limit is raised up to its maximum"),
    lambda env: _compare(env, ("jeju_proposer_stuck", "verify_poll_seconds"), ("jeju_proposer_stuck",
                         "verify_window_seconds"), strict=True, why="the oracle is read several times per window"),
    lambda env: _compare(env, ("jeju_rpc_degraded", "probe_concurrency"), ("jeju_rpc_degraded", "probe_samples"),
                         strict=False, why="no more requests are in flight than a measurement sends"),
    lambda env: _compare(env, ("jeju_security_breach", "pause_poll_seconds"), ("jeju_security_breach",
                         "pause_wait_seconds"), strict=True, why="the chain is read several times while waiting"),
]


# ---- small helpers ----

def _ordered(problems: list[Problem]) -> list[Problem]:
    """Problems by file and line, each once (a value may break two rules that say the same)."""
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (str(p.file or ""), p.line or 0))


_SIMPLE = re.compile(r"^[A-Za-z0-9_-]+$")


def _dotted(path: KeyPath) -> str:
    """jeju_funding.recipients.batcher, jeju_l1_rpc_urls[0]; an odd key in JSON quotes (never a line break)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _SIMPLE.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


def _quoted(name: Any) -> str:
    text = str(name)
    return f"'{text}'" if text.isprintable() and "'" not in text else json.dumps(text)


def _line(line: int | None, sep: str = " ") -> str:
    return f"{sep}line {line}" if line else ""


def _kind(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", int: "number", float: "number", bool: "boolean",
            type(None): "empty value"}.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    # No line break of any kind reaches the terminal (U+2028, U+0085 and others break lines too): escaped.
    text = "".join(c if c.isprintable() else _escaped(c) for c in text)
    return text if len(text) <= 80 else text[:77] + "..."


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]
