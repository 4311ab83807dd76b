"""Inventories are refused before anything runs, with the variable, the file and the line named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jeju_play import environments
from jeju_play.errors import InvalidInventory, UnknownEnvironment

ROOT = Path(__file__).resolve().parents[2]


def _vars(project: Path) -> Path:
    return project / "inventories" / "lab" / "group_vars" / "all" / "vars.yml"


def _edit(project: Path, old: str, new: str) -> Path:
    vars_file = _vars(project)
    text = vars_file.read_text()
    assert old in text
    vars_file.write_text(text.replace(old, new))
    return vars_file


def test_known_environments_are_listed() -> None:
    assert environments.available(ROOT) == ["local", "mainnet", "testnet"]


def test_unknown_environment_lists_the_known_ones() -> None:
    with pytest.raises(UnknownEnvironment, match="Environments: local, mainnet, testnet"):
        environments.load(ROOT, "staging")


@pytest.mark.parametrize("name", ["shared", ".", "..", "inventories", "x" * 300, "nul\x00byte"])
def test_only_environments_resolve(name: str) -> None:
    with pytest.raises(UnknownEnvironment):
        environments.resolve(ROOT, name)


@pytest.mark.parametrize("env", ["mainnet", "testnet"])
def test_placeholders_are_refused_by_name_and_file(env: str) -> None:
    with pytest.raises(InvalidInventory) as caught:
        environments.load(ROOT, env)
    message = str(caught.value)
    assert "is still a placeholder" in message
    assert f"inventories/{env}/group_vars/all/vars.yml" in message


@pytest.mark.parametrize("env", ["mainnet", "testnet"])
def test_placeholders_are_the_only_problems_of_the_committed_inventories(env: str) -> None:
    _, problems = environments.check(ROOT, env)
    assert problems and all("is still a placeholder (line " in p.message for p in problems)
    assert all(p.file == ROOT / "inventories" / env / "group_vars" / "all" / "vars.yml" and p.line for p in problems)


def test_fixture_environment_loads(project: Path) -> None:
    env = environments.load(project, "lab")
    assert env.name == "lab" and not env.production
    assert "s3cr3t-token-that-must-not-leak-4242" in env.secret_values()
    assert environments.load(project, "prod").production


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("address: \"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\"", "address: '0x1234'",
         r"demo_owner.address in .*vars.yml line 7 must be an address \(0x and 40 hex digits\), got \"0x1234\""),
        ("[http://127.0.0.1:8545]", "[ftp//nowhere]",
         r"jeju_l1_rpc_urls\[0\] in .*vars.yml line 4 must be a URL \(http, https, ws or wss\), got \"ftp//nowhere\""),
        ("[http://127.0.0.1:8545]", "[]", r"jeju_l1_rpc_urls in .*line 4 must not be empty: list at least one"),
        ("[http://127.0.0.1:8545]", "[http://a:1, http://a:1]", r"jeju_l1_rpc_urls in .*lists the same item twice"),
        ("jeju_production: false", "jeju_production: 'yes'", r"jeju_production in .*line 3 must be true or false"),
        ("jeju_gate_timeout_seconds: 2", "jeju_gate_timeout_seconds: -2",
         r"jeju_gate_timeout_seconds in .*line 8 must be more than 0, got -2"),
        ("jeju_gate_timeout_seconds: 2", "jeju_gate_timeout_seconds: .nan",
         r"jeju_gate_timeout_seconds in .*line 8 must be a finite number, got nan"),
        ("jeju_gate_timeout_seconds: 2", "jeju_gate_timout_seconds: 2",
         r"jeju_gate_timout_seconds in .*line 8 is not a jeju-play variable .*: "
         r"did you mean jeju_gate_timeout_seconds\?"),
        ("  address:", "  adress:", r"demo_owner.adress in .*line 7 is not a key of demo_owner \(it has address\): "
                                    r"did you mean address\?"),
        ("jeju_environment: lab", "jeju_environment: Lab!", r"jeju_environment in .*line 2 must be a name of"),
    ],
)
def test_malformed_values_are_named_with_file_and_line(project: Path, old: str, new: str, expected: str) -> None:
    _edit(project, old, new)
    with pytest.raises(InvalidInventory, match=expected):
        environments.load(project, "lab")


def test_every_problem_is_reported_at_once(project: Path) -> None:
    vars_file = _edit(project, "jeju_production: false", "jeju_production: 'no'")
    _edit(project, "jeju_gate_timeout_seconds: 2", "jeju_gate_timeout_seconds: 0\njeju_typo: 1")
    _edit(project, "[http://127.0.0.1:8545]", "[nowhere]")
    _, problems = environments.check(project, "lab")
    assert [(p.key, p.line, p.file) for p in problems] == [
        ("jeju_production", 3, vars_file), ("jeju_l1_rpc_urls[0]", 4, vars_file),
        ("jeju_gate_timeout_seconds", 8, vars_file), ("jeju_typo", 9, vars_file)]
    with pytest.raises(InvalidInventory, match=r"^4 problems in environment 'lab' \(.*\); fix them and run again:"
                                               r"\n  - jeju_production in"):
        environments.load(project, "lab")


def test_malformed_yaml_names_file_and_line(project: Path) -> None:
    vars_file = _vars(project)
    vars_file.write_text(vars_file.read_text() + "broken: [unclosed\n")
    with pytest.raises(InvalidInventory, match=r"vars.yml line \d+ column \d+: .*Fix the file \(yamllint"):
        environments.load(project, "lab")


def test_a_key_given_twice_names_both_lines(project: Path) -> None:
    vars_file = _vars(project)
    vars_file.write_text(vars_file.read_text() + "demo_marker_name: again.txt\n")
    with pytest.raises(InvalidInventory, match=r"demo_marker_name in .*vars.yml line 9 is given twice \(lines 5 and "
                                               r"9\); YAML keeps only the last"):
        environments.load(project, "lab")


def test_a_nested_key_given_twice_names_both_lines(project: Path) -> None:
    _edit(project, "  address: \"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\"\n",
          "  address: \"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\"\n  address: \"0x70997970C51812dc3A010C7d01b"
          "50e0d17dc79C8\"\n")
    _, problems = environments.check(project, "lab")
    assert [(p.key, p.line) for p in problems] == [("demo_owner.address", 8)]
    assert "(lines 7 and 8)" in problems[0].message


def test_bytes_that_are_not_utf8_name_line_and_column(project: Path) -> None:
    vars_file = _vars(project)
    vars_file.write_bytes(vars_file.read_bytes().replace(b"remediated.txt", b"r\xe9mediated.txt"))
    _, problems = environments.check(project, "lab")
    assert len(problems) == 1, problems  # and no "missing" noise: the unreadable file may well hold them
    assert problems[0].line == 5 and "line 5 column 20: byte 0xe9 is not UTF-8" in problems[0].message


@pytest.mark.parametrize("text", ["\x07", "a: \x1b[31m\n", "a: b\x00\n"])
def test_characters_yaml_refuses_name_the_line(project: Path, text: str) -> None:
    vars_file = _vars(project)
    vars_file.write_text(vars_file.read_text() + text)
    _, problems = environments.check(project, "lab")
    assert len(problems) == 1 and problems[0].line == 9 and problems[0].file == vars_file, problems


@pytest.mark.parametrize("text", ["when: 2024-13-45\n", "loop: &a [*a]\n", "- a list\n", "? [a, b]\n: c\n"])
def test_odd_yaml_is_a_problem_not_a_crash(project: Path, text: str) -> None:
    extra = project / "inventories" / "lab" / "group_vars" / "all" / "zz.yml"
    extra.write_text(text)
    _, problems = environments.check(project, "lab")
    assert problems and all(p.file == extra for p in problems), problems


def test_non_string_variable_names_are_refused(project: Path) -> None:
    extra = project / "inventories" / "lab" / "group_vars" / "all" / "zz.yml"
    extra.write_text("---\n1: one\nnull: nothing\nFalse: no\n")
    _, problems = environments.check(project, "lab")
    assert [p.line for p in problems] == [2, 3, 4] and all("is not a variable name" in p.message for p in problems)


def test_missing_variable_is_named(project: Path) -> None:
    _edit(project, "demo_marker_name: remediated.txt\n", "")
    with pytest.raises(InvalidInventory, match=r"demo_marker_name is missing from .*vars.yml: add it"):
        environments.load(project, "lab")


def test_missing_nested_key_names_its_parent_line(project: Path) -> None:
    _edit(project, "  address: \"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\"\n", "  {}\n")
    with pytest.raises(InvalidInventory, match=r"demo_owner.address is missing from .*vars.yml \(demo_owner, line 6\)"):
        environments.load(project, "lab")


def test_missing_hosts_file_is_refused(project: Path) -> None:
    (project / "inventories" / "lab" / "hosts.yml").unlink()
    with pytest.raises(InvalidInventory, match=r"lab/hosts.yml is missing: every environment names the host"):
        environments.load(project, "lab")


@pytest.mark.parametrize(
    ("hosts", "expected"),
    [
        ("---\nall: {}\n", r"group 'all' in .*hosts.yml line 2 has no hosts: playbooks would run on nothing"),
        ("---\nall:\n  hosts:\n", r"group 'all' in .*hosts.yml line 2 has no hosts"),
        ("---\nall:\n  hosts: {a: {}}\n  children:\n    k8s: {}\n", r"group 'k8s' in .*hosts.yml line 5 has no hosts"),
        ("---\n", r"hosts.yml line 1 names no group"),
        ("---\nall:\n  host:\n    a: {}\n", r"group 'all' in .*hosts.yml line 3 has 'host', which Ansible does not "
                                            r"read: did you mean hosts\?"),
        ("---\nall:\n  hosts: [a, b]\n", r"hosts of group 'all' in .*hosts.yml line 3 must be a mapping"),
    ],
)
def test_hosts_file_needs_a_host_in_every_group(project: Path, hosts: str, expected: str) -> None:
    (project / "inventories" / "lab" / "hosts.yml").write_text(hosts)
    with pytest.raises(InvalidInventory, match=expected):
        environments.load(project, "lab")


def test_templated_values_are_left_to_ansible(project: Path) -> None:
    _edit(project, "jeju_gate_timeout_seconds: 2", 'jeju_gate_timeout_seconds: "{{ lookup(\'env\', \'T\') }}"')
    assert environments.check(project, "lab")[1] == []


def test_inline_vault_values_are_secrets_not_checked(project: Path) -> None:
    _edit(project, "demo_marker_name: remediated.txt\n", "demo_marker_name: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n"
                                                          "  6238\n")
    env, problems = environments.check(project, "lab")
    assert problems == [] and env.variables["demo_marker_name"].startswith("$ANSIBLE_VAULT")


def test_an_encrypted_vault_file_is_skipped(project: Path) -> None:
    vault = project / "inventories" / "lab" / "group_vars" / "all" / "vault.yml"
    vault.write_bytes(b"$ANSIBLE_VAULT;1.1;AES256\n\xff\xfe binary-ish\n")
    assert environments.check(project, "lab")[1] == []


def test_local_without_the_lab_says_how_to_start_it(tmp_path: Path) -> None:
    (tmp_path / "inventories").mkdir()
    shutil.copy(ROOT / "inventories" / "schema.json", tmp_path / "inventories" / "schema.json")
    for name in ("shared", "local"):
        shutil.copytree(ROOT / "inventories" / name, tmp_path / "inventories" / name,
                        ignore=shutil.ignore_patterns("lab.yml"))
    with pytest.raises(InvalidInventory, match=r"are not set for environment 'local': they are written to .*"
                                               r"local/group_vars/all/lab.yml by `jeju-play lab up`\. Start it first"):
        environments.load(tmp_path, "local")
    _, problems = environments.check(tmp_path, "local")
    assert len(problems) == 1  # one sentence for every value the lab writes


def test_inventory_given_as_a_path(project: Path) -> None:
    env = environments.load(project, str(project / "inventories" / "lab"))
    assert env.path == (project / "inventories" / "lab").resolve()


def test_a_missing_schema_is_refused(project: Path) -> None:
    (project / "inventories" / "schema.json").unlink()
    with pytest.raises(InvalidInventory, match=r"inventories/schema.json is missing"):
        environments.load(project, "lab")


@pytest.mark.parametrize("schema", ['{"$id": "urn:x", "type": 5}', '[1]', '{"type": "object"}', "{",
                                    '{"$id": "urn:x", "$defs": {"environment": {"$ref": "#/$defs/nope"}}}'])
def test_a_broken_schema_is_refused(project: Path, schema: str) -> None:
    (project / "inventories" / "schema.json").write_text(schema)
    with pytest.raises(InvalidInventory, match=r"schema.json is not a valid JSON Schema"):
        environments.load(project, "lab")
