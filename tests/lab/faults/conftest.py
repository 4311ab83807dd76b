"""Fault tests share the session lab (tests/conftest.py `lab`): each test heals it and undoes its remedy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import LabHandle, on_primary_l1

from .helpers import blocks_flow, eventually, ready_pods, restoring_deployments


@pytest.fixture
def healthy_lab(lab: LabHandle) -> Iterator[LabHandle]:
    """The session lab with blocks flowing and op-node on the primary L1; afterwards faults healed, Deployments as
    they were, blocks flowing."""
    eventually(lambda: ready_pods(lab, "op-node"), bool, "op-node Ready")
    on_primary_l1(lab)
    with restoring_deployments(lab):
        yield lab
    blocks_flow(lab, blocks=1, within=20)
