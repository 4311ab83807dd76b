"""Fixtures every test tree shares: a copy of the runner's fixture project and a private run record."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from jeju_play.lab.control import Lab
from tests.support import FIXTURE_PROJECT, lab_env, make_lab_project


@dataclass
class LabHandle:
    project: Path
    lab: Lab
    env: dict[str, str]

    @property
    def state(self) -> dict:  # type: ignore[type-arg]
        return self.lab.state

    @property
    def kubeconfig(self) -> str:
        return str(self.state["kubeconfig"])


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


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


@pytest.fixture(scope="session")
def lab_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    """One running lab for the whole test session, in a private project copy; stopped by pid at the end.

    Tests that break it must heal it (the `lab` fixture does, and checks the lab is healthy before each test).
    """
    project = make_lab_project(tmp_path_factory.mktemp("lab-project"))
    env = lab_env(project)
    with _environ(env):
        lab = Lab.default()
        lab.up()
        try:
            yield LabHandle(project, lab, env)
        finally:
            lab.down()


@pytest.fixture
def lab(lab_session: LabHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[LabHandle]:
    """The session's lab, healthy, with JEJU_PLAY_HOME & co pointing at it; every fault healed afterwards."""
    for key, value in lab_session.env.items():
        monkeypatch.setenv(key, value)
    if not lab_session.lab.running():
        lab_session.lab.up()
    yield lab_session
    if lab_session.lab.running():
        lab_session.lab.heal()
