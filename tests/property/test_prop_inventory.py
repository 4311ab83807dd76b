"""Generated inventory values: from the schema (hypothesis-jsonschema, one leaf at a time) and from anywhere.

The oracle is the schema itself: a value its leaf schema refuses must be reported, at its key, in the file it was
written to, with a line; a value the schema accepts may only break a rule across fields. Nothing raises, ever: not
for random bytes, not for odd YAML, not for a hosts.yml of any shape. `jeju-play validate` agrees (exit 0 / 2).
"""

from __future__ import annotations

import copy
import json
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator
from typer.main import get_command

from jeju_play import environments
from jeju_play.cli import app
from tests.support import ROOT, run_cli
from tests.unit.test_inventory_schema import local_copy

CASES = settings.default.max_examples  # the jeju-play profile (conftest.py): 1,000 unless told
SCHEMA = json.loads((ROOT / "inventories" / "schema.json").read_text())
DEFS = SCHEMA["$defs"]
CASE_FILE = "zz-case.yml"  # read last of group_vars/all: its values win
COMMAND = get_command(app)
# The keys the rules across fields compare: a value the schema accepts may still break one of these.
RULE_KEYS = {"jeju_funding.max_transfer_eth", "jeju_network_down.memory_step", "jeju_l2_chain_id",
             "jeju_batcher_failing.fee_limit_gwei", "jeju_proposer_stuck.verify_poll_seconds",
             "jeju_rpc_degraded.probe_concurrency", "jeju_security_breach.pause_poll_seconds", "jeju_statuspage"}


DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: the pure-Python dumper was a third of a case
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def dump(value: Any) -> str:
    return yaml.dump(value, Dumper=DUMPER)


def by_a_rule(key: str) -> bool:
    return key in RULE_KEYS or key.startswith("jeju_funding.recipients.")  # target_eth > min_eth, an address


def deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        rest = {k: v for k, v in node.items() if k != "$ref"}
        node = {**DEFS[node["$ref"].rsplit("/", 1)[-1]], **rest}
    return node


def inline(node: Any) -> Any:
    """A leaf schema with its $refs inlined and its prose dropped (what hypothesis-jsonschema generates from)."""
    node = deref(node)
    if isinstance(node, dict):
        return {k: inline(v) for k, v in node.items() if k not in ("description", "title")}
    if isinstance(node, list):
        return [inline(v) for v in node]
    return node


def leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every key the schema knows with a fixed name, down to the values (lists and open mappings are values)."""
    node = deref(node)
    if node.get("type") == "object" and node.get("properties"):
        for name, sub in node["properties"].items():
            yield from leaves(sub, (*path, name))
    elif path:
        yield path, inline(node)


LEAVES = sorted(leaves(SCHEMA))
VALID = {path: from_schema(leaf) for path, leaf in LEAVES}
CHECK = {path: Draft202012Validator(leaf) for path, leaf in LEAVES}
# Anything YAML can hold, without templates ({{ }}) or placeholders: those are left to Ansible / refused by name.
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="{"), max_size=16)
ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**20, max_value=10**20) | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=6)


@dataclass
class Scratch:
    root: Path
    env: Path
    base: dict[str, Any]  # the merged variables of the valid environment

    def case_file(self) -> Path:
        return self.env / "group_vars" / "all" / CASE_FILE

    def check(self, data: bytes) -> list[environments.Problem]:
        """The environment with the case file holding `data`; the case file is gone again afterwards."""
        case = self.case_file()
        case.write_bytes(data)
        try:
            return environments.check(self.root, "scratch")[1]
        finally:
            case.unlink()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    root = tmp_path_factory.mktemp("inventory") / "project"
    (root / "inventories").mkdir(parents=True)
    (root / "inventories" / "schema.json").write_text(json.dumps(SCHEMA))  # the schema generated from
    shutil.copytree(ROOT / "inventories" / "shared", root / "inventories" / "shared")
    env = local_copy(root / "inventories", "scratch")
    checked, problems = environments.check(root, "scratch")
    assert problems == []
    return Scratch(root, env, checked.variables)


def overlay_of(base: dict[str, Any], changes: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    """The top-level variables the changes touch, each a copy of the valid one with the changed values in it."""
    overlay: dict[str, Any] = {}
    for path, value in changes:
        if len(path) == 1:
            overlay[path[0]] = value
            continue
        target = overlay.setdefault(path[0], copy.deepcopy(base.get(path[0], {})))
        for part in path[1:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    return overlay


def same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str) or (
        isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(non_finite(v) for v in value)
    if isinstance(value, dict):
        return any(non_finite(v) for v in value.values())
    return False


def dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


mutations = st.lists(st.sampled_from(LEAVES).flatmap(lambda leaf: st.tuples(
    st.just(leaf[0]), st.one_of(VALID[leaf[0]], ANYTHING))), min_size=1, max_size=3, unique_by=lambda m: m[0])


def invoke_validate(env: Path, root: Path) -> int:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JEJU_PLAY_HOME", str(root))
        return CliRunner().invoke(COMMAND, ["validate", "-i", str(env)]).exit_code


@given(mutations)
def test_generated_values_are_reported_where_they_were_written(scratch: Scratch,
                                                               changes: list[tuple[tuple[str, ...], Any]]) -> None:
    overlay = overlay_of(scratch.base, changes)
    text = dump(overlay)
    assert same(yaml.load(text, Loader=LOADER), overlay)  # a safe loader (libyaml)
    case = scratch.case_file()
    problems = scratch.check(("---\n" + text).encode())
    for problem in problems:
        assert "\n" not in problem.message and problem.file is not None, problem
        assert problem.line is not None or " is missing from " in problem.message, problem
    refused = {path for path, value in changes
               if non_finite(value) or not CHECK[path].is_valid(value)}
    for path in refused:
        named = [p for p in problems if p.key == dotted(path) or p.key.startswith((f"{dotted(path)}.",
                                                                                    f"{dotted(path)}["))]
        assert named, (path, [p.message for p in problems])
        assert all(p.file == case for p in named), named
    unexplained = [p for p in problems if not by_a_rule(p.key) and not any(
        p.key == dotted(path) or p.key.startswith((f"{dotted(path)}.", f"{dotted(path)}[")) for path in refused)]
    assert unexplained == [], (changes, [p.message for p in unexplained])


yaml_text = st.lists(st.one_of(
    st.sampled_from(["---", "...", "a: 1", "a: 1", "jeju_x: 1", "- x", "  - y", "? [a]", ": b", "&a [*a]", "*a",
                     "!!binary aGk=", "!!set {a}", "!vault |", "  $ANSIBLE_VAULT;1.1;AES256", "<<: {a: 1}",
                     "t: 2024-13-45", "t: 2024-01-01", "k: !!python/object:os.system x", "\t", "\x00", "\ufeff",
                     "jeju_thresholds: {block_stall_seconds: .nan}", "1: x", "null: y", "[", "{", "'", '"']),
    TEXT), max_size=8).map("\n".join)


@settings(max_examples=max(10, CASES // 2))  # with the hosts files below: 1,000 raw files
@given(st.one_of(st.binary(max_size=300), yaml_text.map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_any_bytes_in_a_vars_file_are_problems_not_crashes(scratch: Scratch, data: bytes) -> None:
    case = scratch.case_file()
    problems = scratch.check(data)
    lines = data.count(b"\n") + 1
    for problem in problems:
        assert "\n" not in problem.message and problem.file is not None, problem
        if problem.file == case and problem.line is not None:
            assert 1 <= problem.line <= lines, (problem, data)


group = st.deferred(lambda: st.one_of(
    st.none(), ANYTHING,
    st.fixed_dictionaries({}, optional={"hosts": st.one_of(st.none(), st.dictionaries(TEXT, st.none() | ANYTHING,
                                                                                       max_size=2), ANYTHING),
                                        "vars": ANYTHING,
                                        "children": st.dictionaries(TEXT, group, max_size=2)})))


@settings(max_examples=max(10, CASES // 2))
@given(st.one_of(st.dictionaries(TEXT, group, max_size=3), ANYTHING))
def test_any_hosts_file_is_problems_not_crashes(scratch: Scratch, hosts: Any) -> None:
    target = scratch.env / "hosts.yml"
    original = target.read_text()
    try:
        target.write_text("---\n" + dump(hosts), encoding="utf-8")
        _, problems = environments.check(scratch.root, "scratch")
    finally:
        target.write_text(original)
    for problem in problems:
        assert "\n" not in problem.message and problem.file == target, problem


def whole_inventories() -> st.SearchStrategy[dict[str, Any]]:
    """Whole environments from #/$defs/environment: every required key, each value from its schema."""
    required = set(DEFS["environment"]["required"])

    def build(node: Any, keys: set[str] | None = None) -> st.SearchStrategy[Any]:
        node = deref(node)
        if node.get("type") == "object" and node.get("properties"):
            needed = keys if keys is not None else set(node.get("required", []))
            props = node["properties"]
            return st.fixed_dictionaries({k: build(v) for k, v in props.items() if k in needed},
                                         optional={k: build(v) for k, v in props.items() if k not in needed})
        return from_schema(inline(node))

    return build(SCHEMA, required)


@settings(max_examples=max(10, CASES // 40))
@given(whole_inventories())
def test_whole_inventories_from_the_schema_break_only_rules_across_fields(tmp_path_factory: pytest.TempPathFactory,
                                                                          variables: dict[str, Any]) -> None:
    root = tmp_path_factory.mktemp("whole")
    (root / "inventories" / "gen" / "group_vars" / "all").mkdir(parents=True)
    (root / "inventories" / "schema.json").write_text(json.dumps(SCHEMA))  # the schema generated from
    shutil.copy(ROOT / "inventories" / "local" / "hosts.yml", root / "inventories" / "gen")
    vars_file = root / "inventories" / "gen" / "group_vars" / "all" / "vars.yml"
    vars_file.write_text("---\n" + dump(variables), encoding="utf-8")
    _, problems = environments.check(root, "gen")
    assert all(by_a_rule(p.key) for p in problems), [
        p.message for p in problems]
    assert all(p.file == vars_file and p.line for p in problems)


@settings(max_examples=max(10, CASES // 100))
@given(mutations)
def test_a_sample_through_the_installed_script(scratch: Scratch, changes: list[tuple[tuple[str, ...], Any]]) -> None:
    overlay = overlay_of(scratch.base, changes)
    case = scratch.case_file()
    case.write_text("---\n" + dump(overlay), encoding="utf-8")
    try:
        _, problems = environments.check(scratch.root, "scratch")
        assert invoke_validate(scratch.env, scratch.root) == (2 if problems else 0)
        result = run_cli("validate", "-i", str(scratch.env), env_extra={"JEJU_PLAY_HOME": str(scratch.root)})
    finally:
        case.unlink()
    assert result.returncode == (2 if problems else 0), result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert [line[4:] for line in result.stderr.splitlines()[1:]] == [p.message for p in problems]
