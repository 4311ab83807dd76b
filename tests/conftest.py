"""Fixtures every test tree shares: a copy of the runner's fixture project and a private run record."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import FIXTURE_PROJECT, LabHandle, running_lab


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
    with running_lab(tmp_path_factory.mktemp("lab-project")) as handle:
        yield handle


@pytest.fixture
def lab(lab_session: LabHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[LabHandle]:
    """The session's lab, healthy and steady (it has batched and proposed: a drill may have restarted it), with
    JEJU_PLAY_HOME & co pointing at it; every fault healed afterwards."""
    from jeju_play.lab.recovery import wait_until_steady

    for key, value in lab_session.env.items():
        monkeypatch.setenv(key, value)
    if not lab_session.lab.running():
        lab_session.lab.up()
    assert wait_until_steady(lab_session.lab), "the session lab proposed no output within 90 s"
    yield lab_session
    if lab_session.lab.running():
        lab_session.lab.heal()
