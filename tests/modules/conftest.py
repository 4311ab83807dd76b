"""Fixtures for the jeju.ops module tests: real anvil chains and two ways of running a module as Ansible does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jeju_play.lab.anvil import AnvilNode, free_port
from jeju_play.paths import collections_dir, project_root

ROOT = project_root()
COLLECTIONS = collections_dir()  # the tree as ansible_collections/jeju/ops, importable by unit tests
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
MODULES = ROOT / "plugins" / "modules"
PYTHON = sys.executable


@pytest.fixture(scope="session")
def collections() -> Path:
    return collections_dir()


def module_env(collections: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{collections}{os.pathsep}{env.get('PYTHONPATH', '')}"
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    return env


def run_module_file(collections: Path, tmp_path: Path, name: str, args: dict, check: bool = False) -> dict:
    """Execute plugins/modules/<name>.py with an args file, the way AnsiballZ hands arguments over."""
    payload = dict(args, _ansible_check_mode=check)
    args_file = tmp_path / f"{name}-args-{free_port()}.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": payload}))
    done = subprocess.run(
        [PYTHON, str(MODULES / f"{name}.py"), str(args_file)], capture_output=True, text=True,
        env=module_env(collections), timeout=120, check=False,
    )
    args_file.unlink()
    try:
        result = json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"{name} printed no JSON: {done.stdout!r} {done.stderr!r}") from None
    result["_rc"] = done.returncode
    return result


@pytest.fixture
def run_module(collections: Path, tmp_path: Path):
    def run(name: str, check: bool = False, **args: object) -> dict:
        return run_module_file(collections, tmp_path, name, args, check)
    return run


@pytest.fixture(scope="session")
def anvil() -> Iterator[AnvilNode]:
    """A live chain (1 s blocks) shared by read-only tests."""
    node = AnvilNode(chain_id=31337, block_time=1).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def fresh_anvil() -> Iterator[AnvilNode]:
    """A private automining chain for tests that move money or stop mining."""
    node = AnvilNode(chain_id=901).start()
    try:
        yield node
    finally:
        node.stop()


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def run_playbook(collections: Path, tmp_path: Path, tasks: list[dict], extra_vars: dict | None = None,
                 check: bool = False) -> subprocess.CompletedProcess[str]:
    """ansible-playbook on localhost with the venv python; the module is called by its FQCN."""
    playbook = tmp_path / "play.yml"
    play = {"name": "jeju.ops module test", "hosts": "localhost", "gather_facts": False, "tasks": tasks}
    playbook.write_text(json.dumps([play]))
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": PYTHON}}}}))
    cmd = [str(Path(PYTHON).parent / "ansible-playbook"), "-i", str(inventory), str(playbook)]
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    if check:
        cmd.append("--check")
    env = module_env(collections)
    env.update(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_NOCOLOR="1")
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)


def start_module_file(collections: Path, tmp_path: Path, name: str, args: dict) -> subprocess.Popen[str]:
    """Start a module run in the background (for crash and concurrency tests); read its JSON from stdout."""
    args_file = tmp_path / f"{name}-bg-{free_port()}.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    return subprocess.Popen(
        [PYTHON, str(MODULES / f"{name}.py"), str(args_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=module_env(collections),
    )
