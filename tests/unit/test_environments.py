"""Inventories are refused before anything runs, with the variable and the file named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jeju_play import environments
from jeju_play.errors import InvalidInventory, UnknownEnvironment

ROOT = Path(__file__).resolve().parents[2]


def test_known_environments_are_listed() -> None:
    assert environments.available(ROOT) == ["local", "mainnet", "testnet"]


def test_unknown_environment_lists_the_known_ones() -> None:
    with pytest.raises(UnknownEnvironment, match="Environments: local, mainnet, testnet"):
        environments.load(ROOT, "staging")


@pytest.mark.parametrize("env", ["mainnet", "testnet"])
def test_placeholders_are_refused_by_name_and_file(env: str) -> None:
    with pytest.raises(InvalidInventory) as caught:
        environments.load(ROOT, env)
    message = str(caught.value)
    assert "is still a placeholder" in message
    assert f"inventories/{env}/group_vars/all/vars.yml" in message


def test_fixture_environment_loads(project: Path) -> None:
    env = environments.load(project, "lab")
    assert env.name == "lab" and not env.production
    assert "s3cr3t-token-that-must-not-leak-4242" in env.secret_values()
    assert environments.load(project, "prod").production


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("demo_owner:\n  address: '0x1234'\n", "demo_owner.address in"),
        ("jeju_l1_rpc_urls: [ftp//nowhere]\n", "holds something that is not a URL"),
        ("jeju_l1_rpc_urls: []\n", "must be a non-empty list of URLs"),
        ("jeju_production: 'yes'\n", "must be bool"),
    ],
)
def test_malformed_values_are_named(project: Path, line: str, expected: str) -> None:
    vars_file = project / "inventories" / "lab" / "group_vars" / "all" / "vars.yml"
    vars_file.write_text(vars_file.read_text() + line)
    with pytest.raises(InvalidInventory, match=expected):
        environments.load(project, "lab")


def test_malformed_yaml_names_file_and_line(project: Path) -> None:
    vars_file = project / "inventories" / "lab" / "group_vars" / "all" / "vars.yml"
    vars_file.write_text(vars_file.read_text() + "broken: [unclosed\n")
    with pytest.raises(InvalidInventory, match=r"vars.yml line 1\d column"):
        environments.load(project, "lab")


def test_missing_variable_is_named(project: Path) -> None:
    vars_file = project / "inventories" / "lab" / "group_vars" / "all" / "vars.yml"
    vars_file.write_text(vars_file.read_text().replace("demo_marker_name: remediated.txt\n", ""))
    with pytest.raises(InvalidInventory, match="demo_marker_name is missing from"):
        environments.load(project, "lab")


def test_local_without_the_lab_says_how_to_start_it(tmp_path: Path) -> None:
    (tmp_path / "inventories").mkdir()
    shutil.copy(ROOT / "inventories" / "schema.yml", tmp_path / "inventories" / "schema.yml")
    shutil.copytree(ROOT / "inventories" / "local", tmp_path / "inventories" / "local",
                    ignore=shutil.ignore_patterns("lab.yml"))
    with pytest.raises(InvalidInventory, match=r"by `jeju-play lab up`\. Start it first"):
        environments.load(tmp_path, "local")


def test_inventory_given_as_a_path(project: Path) -> None:
    env = environments.load(project, str(project / "inventories" / "lab"))
    assert env.path == (project / "inventories" / "lab").resolve()
