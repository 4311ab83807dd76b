"""`jeju-play` as run_cli runs it, keeping a copy of each private data dir it deletes (tempfile's jeju-play-*)
under the folder given first: the private data dir ansible-runner used (with its env/, artifacts/ and job events)
is scanned for secrets as it was just before its deletion.

    python -m tests.private_keeper KEEP_DIR ARGS...
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

KEEP = Path(sys.argv.pop(1))
_rmtree = shutil.rmtree


def _keeping_rmtree(path: Any, *args: Any, **kwargs: Any) -> None:
    folder = Path(path)
    if folder.name.startswith("jeju-play-") and folder.is_dir():  # the runner's private data dirs (run.py)
        try:
            shutil.copytree(folder, KEEP / f"{len(list(KEEP.iterdir())):03d}-{folder.name}", symlinks=True)
        except (OSError, shutil.Error) as exc:
            print(f"private_keeper: could not copy {folder}: {exc}", file=sys.stderr)
    _rmtree(path, *args, **kwargs)


shutil.rmtree = _keeping_rmtree  # type: ignore[assignment]

if __name__ == "__main__":
    from jeju_play.cli import main

    sys.exit(main())
