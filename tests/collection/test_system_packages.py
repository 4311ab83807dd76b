"""bindep.txt, read by tools/system_packages.py (`make install`) the way the real bindep reads it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.collection.conftest import BIN
from tests.support import ROOT

sys.path.insert(0, str(ROOT / "tools"))

import system_packages

BINDEP = ROOT / "bindep.txt"
TOOL = ROOT / "tools" / "system_packages.py"
PROFILES = sorted(set().union(*(p.profiles() for p in system_packages.parse(BINDEP.read_text()))))


def real_bindep(*profiles: str, file: Path = BINDEP) -> list[str]:
    done = subprocess.run([str(BIN / "bindep"), "-f", str(file), "-l", "newline", *profiles], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_file_lists_what_the_project_needs() -> None:
    names = {p.name for p in system_packages.parse(BINDEP.read_text())}
    assert {"kubernetes-client", "nodejs", "npm", "prometheus", "prometheus-alertmanager",
            "openjdk-17-jre-headless"} <= names
    assert PROFILES == ["eda", "lab", "monitoring"]


@pytest.mark.skipif(not (BIN / "bindep").exists(), reason="bindep (dev extra)")
@pytest.mark.parametrize("profiles", [(), ("default",), *((p,) for p in PROFILES), tuple(PROFILES)])
def test_selection_is_the_real_bindeps(profiles: tuple[str, ...]) -> None:
    chosen = system_packages.select(system_packages.parse(BINDEP.read_text()), set(profiles),
                                    system_packages.platform_profiles())
    assert [p.name for p in chosen] == real_bindep(*profiles)


@pytest.mark.skipif(not (BIN / "bindep").exists(), reason="bindep (dev extra)")
def test_selectors_like_bindep(tmp_path: Path) -> None:
    sample = tmp_path / "bindep.txt"
    sample.write_text("plain\nonly-rpm [platform:rpm]\nnot-dpkg [!platform:dpkg]\nboth [(platform:dpkg lab)]\n"
                      "test-or-lab [test lab]  # command: true\nnot-lab [!lab]\nversioned [platform:dpkg] >=1.0\n")
    packages = system_packages.parse(sample.read_text())
    platform = system_packages.platform_profiles()
    for profiles in ((), ("lab",), ("test",), ("lab", "test")):
        assert [p.name for p in system_packages.select(packages, set(profiles), platform)] == real_bindep(
            *profiles, file=sample), profiles
    assert next(p for p in packages if p.name == "test-or-lab").command == "true"


def test_make_install_finds_nothing_missing_here() -> None:
    """This machine has them all (kubectl from the Kubernetes repository, npm from NodeSource's nodejs)."""
    done = subprocess.run([sys.executable, str(TOOL), "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_missing_package_is_reported_and_a_present_command_counts(tmp_path: Path) -> None:
    sample = tmp_path / "bindep.txt"
    python = Path(shutil.which("python3") or sys.executable).name
    sample.write_text(f"jeju-no-such-package-xyz [platform:dpkg]\nno-such-package-with-command  # command: {python}\n")
    done = subprocess.run([sys.executable, str(TOOL), "--check", "-f", str(sample)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 1
    assert done.stdout.strip() == "system packages missing: jeju-no-such-package-xyz"
