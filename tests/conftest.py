"""Fixtures every test tree shares: a copy of the runner's fixture project and a private run record."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support import FIXTURE_PROJECT


@pytest.fixture
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "runs"
    monkeypatch.setenv("JEJU_PLAY_RUNS", str(folder))
    return folder


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runs_dir: Path) -> Path:
    """A writable copy of the fixture project (catalog, runbook, inventories, playbooks), as JEJU_PLAY_HOME."""
    copy = tmp_path / "project"
    shutil.copytree(FIXTURE_PROJECT, copy)
    monkeypatch.setenv("JEJU_PLAY_HOME", str(copy))
    return copy
