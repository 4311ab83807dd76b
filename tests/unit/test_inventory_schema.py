"""Issue 12 part 1: inventories checked against the published schema (inventories/schema.json) before anything runs.

The defects a new user tried (a copy of inventories/local with one defect each) are refused with exit 2, every
problem at once with its file, line and key, nothing run and nothing recorded; `jeju-play validate` says the same
without running anything.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from jeju_play import environments
from tests.support import ROOT, recorded_runs, run_cli

SCHEMA = json.loads((ROOT / "inventories" / "schema.json").read_text())
# What `jeju-play lab up` writes into inventories/local/group_vars/all/lab.yml (addresses: anvil's accounts).
LAB_YML = """---
jeju_l1_chain_id: 8453
jeju_l2_chain_id: 420690
jeju_kube_context: jeju-lab
jeju_state_dir: /tmp/jeju-lab
jeju_l1_rpc_urls: [http://127.0.0.1:42283, http://127.0.0.1:35073]
jeju_l2_rpc_urls: [http://127.0.0.1:41401]
jeju_op_node_rpc_url: http://127.0.0.1:33625
jeju_eigenda_proxy_url: http://127.0.0.1:52001
jeju_kubeconfig: /tmp/jeju-lab/kubeconfig
jeju_addresses:
  batcher: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
  proposer: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
  batch_inbox: '0xff00000000000000000000000000000000420690'
  l2_output_oracle: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9'
  superchain_config: '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9'
  optimism_portal: '0x5FC8d32690cc91D4c39d9d3abcBD16989F875707'
  guardian_safe: '0xF6460093418247F2cE9ebB9D9fA02B93D603185E'
  funding_wallet: '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65'
vault_funding_key: '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a'
"""
FUNDING = """
jeju_funding:
  ledger_path: "{{{{ jeju_state_dir }}}}/funding-ledger.jsonl"
  max_transfer_eth: {max_transfer}
  daily_cap_eth: {daily_cap}
  confirmations: 1
  recipients:
    batcher: {{min_eth: {min_eth}, target_eth: {target}}}
"""


def local_copy(base: Path, name: str = "local") -> Path:
    """inventories/local as a new user copies it, with the lab's generated lab.yml beside its vars.yml."""
    target = base / name
    shutil.copytree(ROOT / "inventories" / "local", target, ignore=shutil.ignore_patterns("lab.yml"))
    (target / "group_vars" / "all" / "lab.yml").write_text(LAB_YML)
    return target


def vars_of(inventory: Path) -> Path:
    return inventory / "group_vars" / "all" / "vars.yml"


def edit(inventory: Path, pattern: str, replacement: str) -> int:
    """Replace the first match in vars.yml; return the line it is on."""
    path = vars_of(inventory)
    text = path.read_text()
    match = re.search(pattern, text, re.M)
    assert match, pattern
    path.write_text(text[:match.start()] + replacement + text[match.end():])
    return text.count("\n", 0, match.start()) + 1


def append(inventory: Path, text: str) -> None:
    path = vars_of(inventory)
    path.write_text(path.read_text() + text)


def line_of(inventory: Path, needle: str) -> int:
    lines = vars_of(inventory).read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def test_the_copy_of_local_is_valid(tmp_path: Path) -> None:
    env, problems = environments.check(ROOT, str(local_copy(tmp_path)))
    assert problems == []
    assert env.shared == ROOT / "inventories" / "shared"
    assert env.sources["jeju_funding"] == ROOT / "inventories" / "shared" / "group_vars" / "all" / "runbook.yml"


def _defect(kind: str, inventory: Path) -> tuple[str, str | None, int | None]:
    """Make one of the issue's defects; return (key, file name, line) that the problem must name."""
    if kind == "negative threshold":
        return "jeju_thresholds.block_stall_seconds", "vars.yml", edit(inventory, r"block_stall_seconds: 5",
                                                                       "block_stall_seconds: -5")
    if kind == "negative daily cap":
        append(inventory, FUNDING.format(max_transfer=10, daily_cap=-20, min_eth=1, target=6))
        return "jeju_funding.daily_cap_eth", "vars.yml", line_of(inventory, "daily_cap_eth")
    if kind == "max_transfer above the daily cap":
        append(inventory, FUNDING.format(max_transfer=50, daily_cap=20, min_eth=1, target=6))
        return "jeju_funding.max_transfer_eth", "vars.yml", line_of(inventory, "max_transfer_eth")
    if kind == "verify_blocks: 0":
        return "jeju_network_down.verify_blocks", "vars.yml", edit(inventory, r"verify_blocks: 3", "verify_blocks: 0")
    if kind == "memory_max: lots":
        return "jeju_network_down.memory_max", "vars.yml", edit(inventory, r"memory_max: 8Gi", "memory_max: lots")
    if kind == "a duplicated key":
        line = edit(inventory, r"  verify_blocks: 3\n", "  verify_blocks: 3\n  verify_blocks: 30\n")
        return "jeju_network_down.verify_blocks", "vars.yml", line + 1
    if kind == "no hosts.yml":
        (inventory / "hosts.yml").unlink()
        return "", "hosts.yml", None
    if kind == "non-UTF-8 bytes":
        path = vars_of(inventory)
        text = path.read_bytes()
        path.write_bytes(text.replace(b"# network-down at lab speed", b"# network-down \xe0 lab speed"))
        return "", "vars.yml", text[:text.index(b"# network-down at lab speed")].count(b"\n") + 1
    if kind == "an empty group":
        (inventory / "hosts.yml").write_text("---\nall:\n  hosts: {}\n")
        return "all", "hosts.yml", 2
    raise AssertionError(kind)


ISSUE_DEFECTS = ["negative threshold", "negative daily cap", "max_transfer above the daily cap", "verify_blocks: 0",
                 "memory_max: lots", "a duplicated key", "no hosts.yml", "non-UTF-8 bytes", "an empty group"]


@pytest.mark.parametrize("kind", ISSUE_DEFECTS)
def test_each_defect_of_the_issue_is_refused_before_anything_runs(tmp_path: Path, runs_dir: Path, kind: str) -> None:
    inventory = local_copy(tmp_path)
    key, file_name, line = _defect(kind, inventory)
    _, problems = environments.check(ROOT, str(inventory))
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.file is not None and problem.file.name == file_name and problem.line == line, problem
    assert problem.key == key and key in problem.message, problem
    assert (f" line {line}" in problem.message) if line else str(problem.file) in problem.message
    result = run_cli("network-down", "-i", str(inventory), "--check")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("InvalidInventory: ") and problem.message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout and result.stdout == ""
    assert recorded_runs(runs_dir) == []


def test_all_defects_at_once_are_all_listed(tmp_path: Path, runs_dir: Path) -> None:
    inventory = local_copy(tmp_path)
    expected = [_defect(kind, inventory)[:1] for kind in ("negative threshold", "verify_blocks: 0",
                                                           "memory_max: lots", "an empty group")]
    edit(inventory, r"^jeju_rpc_degraded:", "jeju_rpc_degradd:")
    _, problems = environments.check(ROOT, str(inventory))
    assert sorted(p.key for p in problems) == sorted([*(k for (k,) in expected), "jeju_rpc_degradd"])
    assert all(p.file and p.line for p in problems)
    result = run_cli("validate", "-i", str(inventory))
    assert result.returncode == 2
    assert f"local ({inventory}): 5 problems" in result.stderr
    assert [line[4:] for line in result.stderr.splitlines()[1:]] == [p.message for p in problems]
    assert "did you mean jeju_rpc_degraded?" in result.stderr
    assert recorded_runs(runs_dir) == []


@pytest.mark.parametrize(
    ("pattern", "replacement", "key", "says"),
    [
        (r"  memory_step: 2Gi", "  memory_step: 8Gi", "jeju_network_down.memory_step",
         "it must be less than jeju_network_down.memory_max (\"8Gi\", line 34)"),
        (r"  memory_step: 2Gi", "  memory_step: 9000Mi", "jeju_network_down.memory_step", "must be less than"),
        (r"  fee_limit_gwei: 200", "  fee_limit_gwei: 2000", "jeju_batcher_failing.fee_limit_gwei",
         "must be at most jeju_batcher_failing.fee_limit_max_gwei (1000"),
        (r"  verify_poll_seconds: 2", "  verify_poll_seconds: 60", "jeju_proposer_stuck.verify_poll_seconds",
         "must be less than jeju_proposer_stuck.verify_window_seconds (60"),
        (r"  probe_concurrency: 10", "  probe_concurrency: 40", "jeju_rpc_degraded.probe_concurrency",
         "must be at most jeju_rpc_degraded.probe_samples (20"),
        (r"  pause_poll_seconds: 2", "  pause_poll_seconds: 600", "jeju_security_breach.pause_poll_seconds",
         "must be less than jeju_security_breach.pause_wait_seconds (60"),
        (r"  memory_step: 2Gi", "  memory_step: '0'", "jeju_network_down.memory_step", "must be more than 0"),
    ],
)
def test_rules_across_fields(tmp_path: Path, pattern: str, replacement: str, key: str, says: str) -> None:
    inventory = local_copy(tmp_path)
    line = edit(inventory, pattern, replacement)
    _, problems = environments.check(ROOT, str(inventory))
    assert [(p.key, p.line) for p in problems] == [(key, line)], problems
    assert says in problems[0].message


@pytest.mark.parametrize(
    ("funding", "key", "says"),
    [
        ({"max_transfer": 10, "daily_cap": 20, "min_eth": 6, "target": 6}, "jeju_funding.recipients.batcher.min_eth",
         "it must be less than jeju_funding.recipients.batcher.target_eth (6"),
        ({"max_transfer": 10, "daily_cap": 20, "min_eth": 1, "target": 0.5},
         "jeju_funding.recipients.batcher.min_eth", "a top-up raises a balance"),
        ({"max_transfer": 20, "daily_cap": 20, "min_eth": 1, "target": 6}, None, ""),
    ],
)
def test_funding_rules(tmp_path: Path, funding: dict[str, float], key: str | None, says: str) -> None:
    inventory = local_copy(tmp_path)
    append(inventory, FUNDING.format(**funding))
    _, problems = environments.check(ROOT, str(inventory))
    assert [p.key for p in problems] == ([key] if key else []), problems
    assert all(says in p.message for p in problems)


def test_a_recipient_needs_an_address(tmp_path: Path) -> None:
    inventory = local_copy(tmp_path)
    append(inventory, FUNDING.format(max_transfer=10, daily_cap=20, min_eth=1, target=6).replace("batcher:", "bob:"))
    _, problems = environments.check(ROOT, str(inventory))
    assert [p.key for p in problems] == ["jeju_funding.recipients.bob"]
    assert "has no address: add jeju_addresses.bob" in problems[0].message


def test_l1_and_l2_chain_ids_differ(tmp_path: Path) -> None:
    inventory = local_copy(tmp_path)
    lab = inventory / "group_vars" / "all" / "lab.yml"
    lab.write_text(lab.read_text().replace("jeju_l2_chain_id: 420690", "jeju_l2_chain_id: 8453"))
    _, problems = environments.check(ROOT, str(inventory))
    assert [(p.key, p.line, p.file) for p in problems] == [("jeju_l2_chain_id", 3, lab)]


def test_a_rule_is_not_repeated_for_a_value_the_schema_refused(tmp_path: Path) -> None:
    inventory = local_copy(tmp_path)
    append(inventory, FUNDING.format(max_transfer=10, daily_cap=-20, min_eth=1, target=6))
    _, problems = environments.check(ROOT, str(inventory))
    assert [p.key for p in problems] == ["jeju_funding.daily_cap_eth"]


def test_a_nested_typo_names_the_nearest_key(tmp_path: Path) -> None:
    inventory = local_copy(tmp_path)
    line = edit(inventory, r"  verify_blocks: 3", "  verify_blcks: 3")
    _, problems = environments.check(ROOT, str(inventory))
    parent = line_of(inventory, "jeju_network_down:")
    assert [(p.key, p.line) for p in problems] == [("jeju_network_down.verify_blocks", parent),
                                                    ("jeju_network_down.verify_blcks", line)]
    assert problems[0].message.startswith("jeju_network_down.verify_blocks is missing from")
    assert "did you mean verify_blocks?" in problems[1].message


def test_a_value_from_the_shared_inventory_names_the_shared_file(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "inventories").mkdir(parents=True)
    shutil.copy(ROOT / "inventories" / "schema.json", root / "inventories")
    shutil.copytree(ROOT / "inventories" / "shared", root / "inventories" / "shared")
    local_copy(root / "inventories")
    runbook = root / "inventories" / "shared" / "group_vars" / "all" / "runbook.yml"
    runbook.write_text(runbook.read_text().replace("jeju_gate_timeout_seconds: 300", "jeju_gate_timeout_seconds: -1"))
    _, problems = environments.check(root, "local")
    assert [(p.key, p.file) for p in problems] == [("jeju_gate_timeout_seconds", runbook)]
    assert problems[0].line and f"{runbook} line {problems[0].line} must be more than 0, got -1" in problems[0].message


def test_validate_lists_every_environment_and_exits_2_on_a_problem(project: Path, runs_dir: Path) -> None:
    clean = run_cli("validate")
    assert clean.returncode == 0, clean.stderr
    assert re.search(r"^lab \(.*\): valid, \d+ variables from \d+ files$", clean.stdout, re.M)
    assert re.search(r"^prod \(.*\): valid", clean.stdout, re.M)
    vars_file = project / "inventories" / "prod" / "group_vars" / "all" / "vars.yml"
    vars_file.write_text(vars_file.read_text().replace("jeju_production: true", "jeju_production: maybe"))
    broken = run_cli("validate", "-i", "lab", "-i", "prod", "--json")
    assert broken.returncode == 2
    report = json.loads(broken.stdout)
    assert [(r["environment"], r["valid"]) for r in report] == [("lab", True), ("prod", False)]
    assert report[1]["problems"] == [{"message": f"jeju_production in {vars_file} line 3 must be true or false, got "
                                                 "\"maybe\".", "file": str(vars_file), "line": 3,
                                      "key": "jeju_production"}]
    assert recorded_runs(runs_dir) == []


def test_the_schema_is_draft_2020_12_and_each_vars_file_names_it() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    vars_files = [p for p in sorted((ROOT / "inventories").glob("*/group_vars/all/*.yml")) if p.name != "lab.yml"]
    assert {p.parts[-4] for p in vars_files} >= {"local", "mainnet", "testnet", "shared"}
    for path in vars_files:
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../../schema.json", path
        assert (path.parent / "../../../schema.json").resolve() == ROOT / "inventories" / "schema.json"


def test_an_editor_sees_each_vars_file_as_valid_but_for_its_placeholders() -> None:
    """The schema's root validates one file as editors do (no required keys): only placeholders are flagged."""
    validator = Draft202012Validator(SCHEMA)
    for path in sorted((ROOT / "inventories").glob("*/group_vars/all/*.yml")):
        data = yaml.safe_load(path.read_text())
        for error in validator.iter_errors(data):
            assert str(error.instance).startswith("PLACEHOLDER"), (path, error.message)


def test_every_schema_key_is_documented() -> None:
    for name, spec in SCHEMA["properties"].items():
        assert name.startswith("jeju_") and spec.get("description"), name


def test_the_fixture_project_uses_the_same_kind_of_schema() -> None:
    fixture = json.loads((ROOT / "tests" / "fixtures" / "project" / "inventories" / "schema.json").read_text())
    Draft202012Validator.check_schema(fixture)
    assert fixture["$defs"]["environment"]["$ref"] == "#"
    assert not (ROOT / "inventories" / "schema.yml").exists()


def test_the_inlined_validator_agrees_with_the_schema_as_published(tmp_path: Path) -> None:
    """environments compiles #/$defs/environment with its $refs inlined (faster); the verdicts are the same."""
    from referencing import Registry, Resource

    registry: Registry = Registry().with_resource(SCHEMA["$id"], Resource.from_contents(SCHEMA))
    published = Draft202012Validator({"$ref": f"{SCHEMA['$id']}#/$defs/environment"}, registry=registry)
    inlined, _ = environments._validator(ROOT)
    env, _ = environments.check(ROOT, str(local_copy(tmp_path)))
    broken = json.loads(json.dumps(env.variables))
    broken["jeju_thresholds"]["block_stall_seconds"] = -1
    broken["jeju_l1_rpc_urls"] = ["ftp://x", "ftp://x"]
    broken["jeju_addresses"]["batcher"] = "0x12"
    broken["jeju_typo"] = 1
    del broken["jeju_namespace"]
    for instance in (env.variables, broken, {}, {"jeju_network_down": {"memory_max": "lots"}}):
        def verdicts(validator: Draft202012Validator, value: dict) -> list[tuple[str, str]]:
            return sorted((str(list(e.absolute_path)), str(e.validator)) for e in validator.iter_errors(value))
        assert verdicts(inlined, instance) == verdicts(published, instance)


def test_a_status_page_is_configured_whole_or_not_at_all(tmp_path: Path) -> None:
    inventory = local_copy(tmp_path)
    with vars_of(inventory).open("a") as out:
        out.write("jeju_statuspage:\n  api_url: https://api.statuspage.io/v1\n")
    _, problems = environments.check(ROOT, str(inventory))
    assert [p.key for p in problems] == ["jeju_statuspage"], problems
    assert "lacks page_id, components" in problems[0].message and "leave it empty ({})" in problems[0].message


def test_a_value_with_a_line_separator_is_shown_on_one_line(tmp_path: Path) -> None:
    """U+2028 and U+0085 break lines in a terminal as a newline does: the message shows them escaped."""
    inventory = local_copy(tmp_path)
    edit(inventory, r"  verify_blocks: 3", '  verify_blocks: {"a\\u2028b": "c\\x85d"}')
    _, problems = environments.check(ROOT, str(inventory))
    assert len(problems) == 1 and len(problems[0].message.splitlines()) == 1, [p.message for p in problems]
    assert '{"a\\u2028b": "c\\u0085d"}' in problems[0].message
