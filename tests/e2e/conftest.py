"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import LabHandle

from .network_down_lab import reset_op_node


@pytest.fixture
def nd_lab(lab: LabHandle) -> Iterator[LabHandle]:
    reset_op_node(lab)
    yield lab
    lab.lab.heal()
    reset_op_node(lab)
