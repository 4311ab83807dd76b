from __future__ import annotations

from collections.abc import Iterator

import pytest

from jeju_lab.anvil import AnvilNode

from .helpers import start_l1, start_l2


@pytest.fixture
def l1() -> Iterator[AnvilNode]:
    node = start_l1()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def l2() -> Iterator[AnvilNode]:
    node = start_l2()
    try:
        yield node
    finally:
        node.stop()
