"""`jeju-play drift ID --values DIR [--check]`: a run's (or an incident's) live changes written into the GitOps values.

Thin: jeju_play.drift collects, plans and writes; this prints the diff and one line per change. Bad input raises
BadInput, which the app's group turns into its message and exit code 2.
"""

from __future__ import annotations

import shlex
import textwrap
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

out = Console(highlight=False, markup=False, emoji=False)


def drift(
    identifier: Annotated[str, typer.Argument(
        metavar="ID", help="An incident ID (INC-...) or a run ID (jeju-play incidents, jeju-play history).")],
    values: Annotated[Path, typer.Option(
        "--values", help="The GitOps values tree (a checkout): drift.yml's files are relative to it.")],
    check: Annotated[bool, typer.Option("--check", help="Show the diff; write nothing.")] = False,
) -> None:
    """Write the live changes of a run or an incident into the GitOps values, so that the next sync keeps them.

    ID is an incident (INC-...: its runs in order) or one run. Prints the diff and a line per change; --check writes
    nothing.
    """
    from jeju_play import drift as drift_mod
    from jeju_play import incidents

    run_dirs = incidents.resolve_runs(identifier)
    entries = drift_mod.collect(run_dirs)
    changes = drift_mod.plan(entries, values)  # every check; raises BadInput before anything is written
    width = min(out.width, 80)
    what = (f"incident {identifier} ({len(run_dirs)} run{'s' if len(run_dirs) != 1 else ''})"
            if identifier.startswith("INC-") else f"run {identifier}")
    if not entries:
        _say(f"No drift: {what} recorded no live change the GitOps values must follow. Nothing to do.", width)
        return
    changed = [change for change in changes if change.changed]
    for change in changed:
        out.print(change.diff.replace("\r\n", "\n"), end="", soft_wrap=True)
    if changed:
        out.print()
    _say(f"Drift of {what}, against {values}:", width)
    for line in drift_mod.summary(entries, changes, width=width, with_runs=len(run_dirs) > 1):
        out.print(line, soft_wrap=True)
    if not changed:
        _say("The values already hold what is live: nothing to write.", width)
        return
    files = f"{len(changed)} file{'s' if len(changed) != 1 else ''}"
    if check:
        _say(f"Check mode: nothing written ({files} would change). Without --check, the changes are written.", width)
        return
    drift_mod.apply(changes)
    _say(f"Wrote {files}.", width)
    out.print(f"Review and commit: git -C {shlex.quote(str(values))} diff", soft_wrap=True)


def _say(text: str, width: int) -> None:
    for line in textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False) or [""]:
        out.print(line, soft_wrap=True)
