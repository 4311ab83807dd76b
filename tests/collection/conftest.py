"""Fixtures for the collection as it ships: the built tarball and an empty collections path it is installed in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

sys.path.insert(0, str(ROOT / "tools"))

from build_collection import build

BIN = Path(sys.executable).parent


def clean_ansible_env(config: Path) -> dict[str, str]:
    """The environment with no ANSIBLE_* setting but ANSIBLE_CONFIG=config (make exports the project's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_CONFIG"] = str(config)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/jeju-ops-<version>.tar.gz as `make collection` builds it, in a private folder."""
    return build(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def installed(tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty collections path with the tarball installed (ansible-galaxy, offline): returns its ansible.cfg."""
    base = tmp_path_factory.mktemp("installed")
    collections = base / "collections"
    config = base / "ansible.cfg"
    config.write_text(f"[defaults]\ncollections_path = {collections}\ninterpreter_python = auto_silent\n"
                      "host_key_checking = False\nretry_files_enabled = False\n")
    done = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(collections),
                           str(tarball)], capture_output=True, text=True, env=clean_ansible_env(config), cwd=base,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (collections / "ansible_collections" / "jeju" / "ops" / "MANIFEST.json").is_file()
    return config
