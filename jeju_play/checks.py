"""`python -m jeju_play.checks`: the catalog check CI runs (every entry sound, every playbook listed)."""

from __future__ import annotations

import sys
from pathlib import Path

from jeju_play import catalog
from jeju_play.errors import JejuPlayError


def main(root: Path | None = None) -> int:
    from jeju_play.cli import command_names
    from jeju_play.paths import project_root

    base = root or project_root()
    try:
        problems = catalog.check(catalog.load(base), command_names())
    except JejuPlayError as exc:
        problems = [str(exc)]
    for problem in problems:
        print(f"catalog: {problem}", file=sys.stderr)
    if not problems:
        print(f"catalog: {base / 'catalog.yml'} is sound")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
