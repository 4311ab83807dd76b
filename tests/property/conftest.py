"""Property-based tests (hypothesis): bad input at volume on each surface the user types into.

Each surface runs CASES generated cases (1,000 unless JEJU_PLAY_PROPERTY_CASES says otherwise) in-process, through
typer's CliRunner or the validator itself, and a sample through the installed script. Under CI (CI=true) the cases
are derandomized, so that a red build is reproducible; locally each run draws new ones. No example database is
kept, and hypothesis's caches go to the temp folder: nothing is written into the tree.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.configuration import set_hypothesis_home_dir

from tests.support import FIXTURE_PROJECT, link_collection

CASES = int(os.environ.get("JEJU_PLAY_PROPERTY_CASES", "1000"))
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "jeju-play-hypothesis")  # its caches, out of the tree
settings.register_profile(
    "jeju-play", max_examples=CASES, deadline=None, database=None, derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture], print_blob=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink])  # no explain: it traces
settings.load_profile("jeju-play")


@pytest.fixture(scope="module")
def fixture_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One copy of the runner's fixture project for a whole module, as JEJU_PLAY_HOME, with an empty record."""
    copy = tmp_path_factory.mktemp("property") / "project"
    shutil.copytree(FIXTURE_PROJECT, copy)
    link_collection(copy)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JEJU_PLAY_HOME", str(copy))
        patch.setenv("JEJU_PLAY_RUNS", str(copy / "runs"))
        yield copy
