"""jeju.ops.preload: the controller imports the Kubernetes client and the Ethereum libraries once, so the worker
Ansible forks for each task has them already (plugins/callback/preload.py)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest
from conftest import run_playbook

from jeju_play.paths import Project, project_root
from jeju_play.playbook import envvars

preload = importlib.import_module("ansible_collections.jeju.ops.plugins.callback.preload")

# A test-only lookup next to the playbook: which of the names are already imported in the task's worker.
PROBE_LOOKUP = '''
import sys
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [{name: name in sys.modules for name in terms}]
'''


def test_every_preloaded_name_is_importable_here():
    # a library renamed upstream (kubernetes.core's module_utils) would silently be preloaded no more
    assert preload.preload() == []
    assert all(name in sys.modules for name in preload.PRELOADED)


def test_a_missing_library_is_returned_not_raised():
    assert preload.preload(("json", "no_such_library_here")) == ["no_such_library_here"]


def test_the_runner_enables_it(tmp_path):
    enabled = envvars(Project(project_root()), tmp_path)["ANSIBLE_CALLBACKS_ENABLED"].split(",")
    assert "jeju.ops.preload" in enabled and "jeju.ops.runner_tether" in enabled


def _worker_sees(collections: Path, tmp_path: Path, callbacks: str | None) -> dict[str, bool]:
    (tmp_path / "lookup_plugins").mkdir(exist_ok=True)
    (tmp_path / "lookup_plugins" / "imported.py").write_text(PROBE_LOOKUP)
    names = ["kubernetes.client.api.core_v1_api", "kubernetes.stream", "eth_abi"]
    out = tmp_path / "seen.json"
    tasks = [{"name": "See what the worker imported", "ansible.builtin.copy": {
        "dest": str(out), "content": "{{ lookup('imported', *names) | to_json }}"}, "vars": {"names": names}}]
    done = run_playbook(collections, tmp_path, tasks, env={"ANSIBLE_CALLBACKS_ENABLED": callbacks})
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("callbacks, expected", [("jeju.ops.preload", True), (None, False)])
def test_a_task_worker_has_the_libraries_only_when_preloaded(collections, tmp_path, callbacks, expected):
    assert set(_worker_sees(collections, tmp_path, callbacks).values()) == {expected}
