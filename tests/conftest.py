"""Fixtures every test tree shares: a copy of the runner's fixture project and a private run record."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import FIXTURE_PROJECT, LabHandle, link_collection, running_lab

# Longest files first. `make unit` runs two workers with --dist loadfile: xdist hands whole files to the worker
# that is free, in collection order, so the lab-backed files (minutes each) that came last alphabetically
# (monitoring/) left one worker running alone at the end. Longest-first ordering evens the two out; the file
# size stands in for its length within each tree. Tests inside a file keep their order.
SLOW_TREES = ("e2e", "monitoring", "lab")
TESTS = Path(__file__).resolve().parent


def _weight(item: pytest.Item) -> tuple[int, int]:
    path = Path(str(item.path))
    tree = path.relative_to(TESTS).parts[0] if path.is_relative_to(TESTS) else ""
    return (SLOW_TREES.index(tree) if tree in SLOW_TREES else len(SLOW_TREES), -path.stat().st_size)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_weight)


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
    link_collection(copy)
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
def lab(lab_session: LabHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LabHandle]:
    """The session's lab, healthy and steady (it has batched and proposed: a drill may have restarted it), with
    JEJU_PLAY_HOME & co pointing at it and incidents of the test's own (an incident an earlier test left open
    would be attached to, not opened); every fault healed afterwards."""
    from jeju_lab.recovery import wait_until_steady

    for key, value in lab_session.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("JEJU_PLAY_INCIDENTS", str(tmp_path / "incidents"))
    if not lab_session.lab.running():
        lab_session.lab.up()
    assert wait_until_steady(lab_session.lab), "the session lab proposed no output within 90 s"
    yield lab_session
    if lab_session.lab.running():
        lab_session.lab.heal()
