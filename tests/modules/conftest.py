"""Fixtures for the jeju.ops module tests: real anvil chains and two ways of running a module as Ansible does."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from jeju_lab.anvil import AnvilNode, free_port
from jeju_lab.sim.conditions import Conditions
from jeju_lab.sim.logfmt import ComponentLog, discard
from jeju_lab.sim.op_node import OpNode
from jeju_lab.sim.rollup import RollupConfig, RollupState, Timing
from jeju_lab.sim.sequencer import Sequencer
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
                 check: bool = False, env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    """ansible-playbook on localhost with the venv python; the module is called by its FQCN. env: variables to
    set for it (None: to unset)."""
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
    run_env = module_env(collections)
    run_env.update(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_NOCOLOR="1")
    for key, value in (env or {}).items():
        run_env.pop(key, None)
        if value is not None:
            run_env[key] = value
    return subprocess.run(cmd, capture_output=True, text=True, env=run_env, cwd=ROOT, timeout=300, check=False)


def lookup_value(collections: Path, tmp_path: Path, expression: object, check: bool = False):
    """ansible-playbook (run_playbook) with one task that sets a fact from `expression` (a lookup call in Jinja, or
    a dictionary of them) and one that keeps it as JSON: (the run, the value; None when the run failed first)."""
    out = tmp_path / "lookup-value.json"
    out.unlink(missing_ok=True)
    tasks = [{"name": "Evaluate the lookup", "ansible.builtin.set_fact": {"lookup_value": expression}},
             {"name": "Keep its value", "ansible.builtin.copy": {"content": "{{ lookup_value | to_json }}",
                                                                "dest": str(out), "mode": "0600"},
              "check_mode": False}]
    done = run_playbook(collections, tmp_path, tasks, check=check)
    return done, (json.loads(out.read_text()) if out.exists() else None)


def start_module_file(collections: Path, tmp_path: Path, name: str, args: dict) -> subprocess.Popen[str]:
    """Start a module run in the background (for crash and concurrency tests); read its JSON from stdout."""
    args_file = tmp_path / f"{name}-bg-{free_port()}.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    return subprocess.Popen(
        [PYTHON, str(MODULES / f"{name}.py"), str(args_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=module_env(collections),
    )


@pytest.fixture
def op_node_url(fresh_anvil):
    """The op-node RPC simulator in a background event loop (the sequencer loop itself is not run)."""
    loop = asyncio.new_event_loop()
    started, holder = threading.Event(), {}

    async def serve() -> None:
        session = aiohttp.ClientSession()
        conditions, state = Conditions(), RollupState()
        config = RollupConfig(l1_chain_id=8453, l2_chain_id=901, batch_inbox_address="0x" + "ff" * 20,
                              batcher_address="0x" + "ba" * 20)
        log = ComponentLog("op-node", discard)
        sequencer = Sequencer(session, conditions, timing=Timing(), state=state, l2_url=fresh_anvil.url, log=log)
        node = OpNode(session, conditions, config=config, state=state, sequencer=sequencer,
                      l2_url=fresh_anvil.url, log=log)
        await node.start()
        holder.update(url=node.url, stop=asyncio.Event())
        started.set()
        await holder["stop"].wait()
        await node.server.stop()
        await session.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10), "the op-node simulator did not start"
    try:
        yield holder["url"]
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(10)
        loop.close()
