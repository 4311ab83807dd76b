"""The collection tarball holds the collection and nothing else, and its playbooks run by FQCN once installed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path, PurePosixPath

import pytest

from jeju_play import catalog as catalog_mod
from tests.collection.conftest import BIN, clean_ansible_env
from tests.support import ROOT, LabHandle

# What a collection is (https://docs.ansible.com/ansible/latest/dev_guide/developing_collections_structure.html)
# and what this one ships: anything else in the tarball is the runner, the lab, tests or tooling leaking in.
TOP_FILES = {"MANIFEST.json", "FILES.json", "README.md", "CHANGELOG.md", "requirements.txt", "bindep.txt"}
TOP_DIRS = {"meta", "plugins", "roles", "playbooks", "extensions"}
MUST_HOLD = ("meta/runtime.yml", "plugins/action/gate.py", "plugins/modules/gate.py", "plugins/module_utils/rpc.py",
             "plugins/filter/network_down.py", "roles/incident/tasks/main.yml",
             "roles/incident/meta/argument_specs.yml", "playbooks/network-down.yml",
             "playbooks/tasks/network-down/diagnose.yml",
             "extensions/eda/rulebooks/alerts.yml", "requirements.txt", "bindep.txt")
MAX_BYTES = 512 * 1024


def members(tarball: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(tarball) as tar:
        return {m.name.removeprefix("./"): m for m in tar.getmembers() if m.name not in (".", "./")}


def _leaks(name: str, member: tarfile.TarInfo) -> bool:
    path = PurePosixPath(name)
    top = path.parts[0]
    if len(path.parts) == 1:
        return top not in (TOP_DIRS if member.isdir() else TOP_FILES)
    return (top not in TOP_DIRS or (top == "roles" and "molecule" in path.parts) or "__pycache__" in path.parts
            or path.suffix in (".pyc", ".pyo") or path.name.startswith("."))


def test_tarball_holds_the_collection_and_nothing_else(tarball: Path) -> None:
    found = members(tarball)
    leaked = sorted(name for name, member in found.items() if _leaks(name, member))
    assert not leaked, f"not collection content (add it to galaxy.yml build_ignore): {leaked[:20]}"
    assert [name for name in MUST_HOLD if name not in found] == []
    assert tarball.stat().st_size < MAX_BYTES, f"{tarball.name} is {tarball.stat().st_size} bytes"
    with tarfile.open(tarball) as tar:
        manifest = json.loads(tar.extractfile("MANIFEST.json").read())  # type: ignore[union-attr]
    assert manifest["collection_info"]["namespace"] == "jeju" and manifest["collection_info"]["name"] == "ops"
    assert manifest["collection_info"]["dependencies"] == {"kubernetes.core": ">=5.0.0",
                                                            "community.general": ">=10.0.0"}


def test_every_playbook_is_shipped_under_its_fqcn_name(tarball: Path) -> None:
    """ansible-core accepts only word characters in an FQCN: playbooks/network-down.yml is jeju.ops.network_down."""
    found = members(tarball)
    shipped = sorted(p.name for p in (ROOT / "playbooks").glob("*.yml"))
    assert shipped, "no playbooks/*.yml"
    for name in shipped:
        assert f"playbooks/{name}" in found and found[f"playbooks/{name}"].isfile()
        fqcn_name = name.replace("-", "_")
        if fqcn_name != name:
            alias = found[f"playbooks/{fqcn_name}"]
            assert alias.issym() and alias.linkname == name, f"playbooks/{fqcn_name} should link to {name}"
        assert re.fullmatch(r"\w+\.yml", fqcn_name)


def test_installed_collection_lists_its_modules(installed: Path) -> None:
    done = subprocess.run([str(BIN / "ansible-doc"), "-l", "jeju.ops", "--json"], capture_output=True, text=True,
                          env=clean_ansible_env(installed), cwd=installed.parent, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout)
    assert {"jeju.ops.gate", "jeju.ops.chain_probe", "jeju.ops.fund_account"} <= set(modules)
    doc = subprocess.run([str(BIN / "ansible-doc"), "jeju.ops.gate", "--json"], capture_output=True, text=True,
                         env=clean_ansible_env(installed), cwd=installed.parent, timeout=120, check=False)
    assert doc.returncode == 0, doc.stderr
    filename = Path(json.loads(doc.stdout)["jeju.ops.gate"]["doc"]["filename"])
    assert filename.is_relative_to(installed.parent), filename


@pytest.mark.lab
@pytest.mark.slow
def test_network_down_runs_by_fqcn_from_the_installed_collection_in_check_mode(installed: Path, lab: LabHandle,
                                                                               tmp_path: Path) -> None:
    """`ansible-playbook jeju.ops.network_down --check` with nothing of this checkout on the collections path."""
    collection = installed.parent / "collections" / "ansible_collections" / "jeju" / "ops"
    incident = catalog_mod.load(lab.project).get("network-down")
    extra = {"jeju_incident": incident.for_playbook(), "jeju_catalog": catalog_mod.load(lab.project).for_playbooks(),
             "jeju_run_id": "fqcn-check", "jeju_run_dir": str(tmp_path / "run"),
             "ansible_python_interpreter": sys.executable}
    (tmp_path / "extra.json").write_text(json.dumps(extra))
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "jeju.ops.network_down", "--check", "-vv",
         "-i", str(lab.project / "inventories" / "shared"), "-i", str(lab.project / "inventories" / "local"),
         "-e", f"@{tmp_path / 'extra.json'}"],
        capture_output=True, text=True, env=clean_ansible_env(installed), cwd=tmp_path, timeout=300, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    assert f"PLAYBOOK: {collection / 'playbooks' / 'network_down.yml'}" in out or "network_down.yml" in out
    for phase in ("Diagnose:", "Decide:", "Remediate:", "Verify:", "Record:"):
        assert f"PLAY [{phase}" in out, phase
    task_paths = re.findall(r"^task path: (\S+):\d+$", out, flags=re.MULTILINE)
    assert task_paths, out[-3000:]
    outside = sorted({p for p in task_paths if not Path(p).is_relative_to(collection)})
    assert outside == [], f"tasks ran from outside the installed collection: {outside[:5]}"
    assert "failed=0" in out and "unreachable=0" in out
    assert (tmp_path / "run" / "artifacts").is_dir()
