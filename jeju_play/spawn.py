"""Starting jeju-play as a process of its own: serve's runs and status updates, and the updates a long run posts
while it works. Each child lives in its own session, so the death of whoever started it does not take it along."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def start_jeju_play(args: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """`jeju-play ARGS` in its own session, its output appended to log_path (created with its folder)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "jeju_play", *args], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
