"""The AWX / AAP files agree with pyproject.toml and galaxy.yml, and ansible-builder makes a build context of them.

- requirements.txt: the collection's Python packages, each with pyproject's specifier;
- execution-environment.yml: ansible-core and ansible-runner with pyproject's specifiers, and it reads
  requirements.txt, bindep.txt and collections/requirements.yml;
- collections/requirements.yml: galaxy.yml's dependencies, the same versions;
- `ansible-builder create` writes a context with those files and the tarball, and ansible-builder's own
  introspection of the installed collection finds its requirements.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from tests.collection.conftest import BIN, clean_ansible_env
from tests.support import ROOT

EE = ROOT / "execution-environment.yml"
# pyproject dependencies that are not Python packages of the execution environment, and where they are instead.
NOT_IN_REQUIREMENTS = {
    "ansible-core": "execution-environment.yml dependencies.ansible_core",
    "ansible-runner": "execution-environment.yml dependencies.ansible_runner",
    "ansible": "collections/requirements.yml (the bundle is only how kubernetes.core and community.general "
               "come here without Galaxy)",
    "typer": "the jeju-play CLI only", "rich": "the jeju-play CLI only",
    "pyyaml": "the runner only (ansible-core brings it)", "jinja2": "the runner only (ansible-core brings it)",
    "jsonschema": "the runner's inventory validation only",
    "ruamel-yaml": "the jeju-play CLI only (jeju-play drift)",
    "ansible-sign": "the runner only (a production run verifies a signed project; AWX verifies it itself)",
}
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;#]*)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement(line: str) -> tuple[str, str]:
    match = _REQUIREMENT.match(line)
    assert match, line
    return normalize(match.group(1)), ",".join(sorted(part.strip() for part in match.group(3).split(",")
                                                     if part.strip()))


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = {}
    for line in project["dependencies"]:
        name, spec = requirement(line)
        found[name] = spec
    return found


def test_requirements_txt_has_pyprojects_specifiers() -> None:
    wanted = pyproject_requirements()
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    listed = dict(requirement(line) for line in lines)
    assert {n: s for n, s in listed.items() if wanted.get(n) != s} == {}, "requirements.txt differs from pyproject"
    missing = sorted(set(wanted) - set(listed) - set(NOT_IN_REQUIREMENTS))
    assert missing == [], (f"pyproject dependencies {missing} are in neither requirements.txt (the collection's "
                           "plugins need them) nor this test's NOT_IN_REQUIREMENTS (with where they are needed)")
    assert not set(listed) & set(NOT_IN_REQUIREMENTS)


def _third_party_imports() -> set[str]:
    found = set()
    for path in (ROOT / "plugins").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            found |= {name.split(".")[0] for name in names}
    return {n for n in found if n not in sys.stdlib_module_names and n not in ("ansible", "ansible_collections")}


def _closure(names: set[str]) -> set[str]:
    """The distributions and, transitively, what they require."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [requirement(r)[0] for r in requires if "extra ==" not in r]
    return seen


def test_requirements_txt_covers_what_the_plugins_import() -> None:
    listed = {requirement(line)[0] for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    provided = _closure(listed | {"ansible-core"})
    by_import = metadata.packages_distributions()
    uncovered = {name: by_import.get(name) for name in _third_party_imports()
                 if not {normalize(d) for d in by_import.get(name, [])} & provided}
    assert uncovered == {}, f"plugins import packages requirements.txt does not bring: {uncovered}"


def test_execution_environment_pins_what_pyproject_pins() -> None:
    ee = yaml.safe_load(EE.read_text())
    wanted = pyproject_requirements()
    assert ee["version"] == 3
    dependencies = ee["dependencies"]
    for key, package in (("ansible_core", "ansible-core"), ("ansible_runner", "ansible-runner")):
        name, spec = requirement(dependencies[key]["package_pip"])
        assert (name, spec) == (package, wanted[package]), key
    assert dependencies["python"] == "requirements.txt"
    assert dependencies["system"] == "bindep.txt"
    assert dependencies["galaxy"] == "collections/requirements.yml"
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    steps = " ".join(ee["additional_build_steps"]["append_galaxy"])
    assert f"{galaxy['namespace']}-{galaxy['name']}-*.tar.gz" in steps


def test_collection_requirements_are_galaxys_dependencies() -> None:
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    listed = yaml.safe_load((ROOT / "collections" / "requirements.yml").read_text())["collections"]
    assert {c["name"]: c["version"] for c in listed} == galaxy["dependencies"]


@pytest.mark.slow
def test_ansible_builder_create_writes_the_build_context(tarball: Path, tmp_path: Path) -> None:
    """`ansible-builder create` (no container engine) on a copy of the EE files with the built tarball in dist/."""
    work = tmp_path / "project"
    (work / "collections").mkdir(parents=True)
    (work / "dist").mkdir()
    for name in ("execution-environment.yml", "requirements.txt", "bindep.txt", "collections/requirements.yml"):
        (work / name).write_text((ROOT / name).read_text())
    (work / "dist" / tarball.name).write_bytes(tarball.read_bytes())
    context = tmp_path / "context"
    done = subprocess.run([str(BIN / "ansible-builder"), "create", "-f", "execution-environment.yml", "-c",
                           str(context), "--output-filename", "Containerfile"], cwd=work, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    build = context / "_build"
    assert (build / "bindep.txt").read_text() == (ROOT / "bindep.txt").read_text()
    assert (build / "requirements.txt").read_text() == (ROOT / "requirements.txt").read_text()
    assert (build / "requirements.yml").read_text() == (ROOT / "collections" / "requirements.yml").read_text()
    assert (build / "jeju" / tarball.name).read_bytes() == tarball.read_bytes()
    containerfile = (context / "Containerfile").read_text()
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core>=2.19,<2.20 ansible-runner>=2.4,<2.5"' in containerfile
    assert "/build/jeju/jeju-ops-*.tar.gz" in containerfile
    assert "introspect.py introspect --user-pip=requirements.txt --user-bindep=bindep.txt" in containerfile


def test_builders_introspection_reads_the_installed_collection(installed: Path, tmp_path: Path) -> None:
    """What the EE build's builder stage computes from /usr/share/ansible/collections, run here on our install."""
    import ansible_builder

    script = Path(ansible_builder.__file__).parent / "_target_scripts" / "introspect.py"
    pip, bindep = tmp_path / "pip.txt", tmp_path / "bindep.txt"
    done = subprocess.run([sys.executable, str(script), "introspect", "--user-pip", str(ROOT / "requirements.txt"),
                           "--user-bindep", str(ROOT / "bindep.txt"), "--write-pip", str(pip), "--write-bindep",
                           str(bindep), str(installed.parent / "collections")], capture_output=True, text=True,
                          env=clean_ansible_env(installed), timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    python = pip.read_text()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            assert line.split(">")[0].split("=")[0] in python, line
    assert "# from collection jeju.ops" in python, python
    assert "kubernetes-client [platform:rpm]" in bindep.read_text()
