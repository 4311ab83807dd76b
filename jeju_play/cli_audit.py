"""`jeju-play audit verify [RUN_ID | --all]`: check the record's hash chains and the summaries' anchors."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

audit_app = typer.Typer(help="Check the run record: hash chains (events, approvals) and the summary's anchor.",
                        no_args_is_help=True)
out = Console(highlight=False, soft_wrap=True)


@audit_app.command()
def verify(
    run_id: Annotated[str | None, typer.Argument(help="A run id from `jeju-play history`.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every run in the record.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recompute every hash of a run's record (or of all runs); name the first entry that does not match.

    Exit 0 when every record verifies, 1 when one does not, 2 on bad input (no such run).
    """
    from jeju_play import audit
    from jeju_play.errors import BadInput, ExitCode
    from jeju_play.paths import runs_dir

    base = runs_dir()
    if (run_id is None) == (not every):
        raise BadInput("Give one RUN_ID (see `jeju-play history`) or --all, not both and not neither.")
    folders = audit.run_folders(base) if every else [audit.run_folder(base, str(run_id))]
    verdicts = [audit.verify_run(folder) for folder in folders]
    if as_json:
        out.print_json(json.dumps([v.as_dict() for v in verdicts]))
    elif not verdicts:
        out.print(f"No runs recorded in {base}.", markup=False)
    for verdict in verdicts if not as_json else []:
        counts = f"{verdict.events} events, {verdict.approvals} approvals"
        if verdict.broken is not None:
            label = "UNCHAINED" if verdict.broken.unchained else "BROKEN"  # too old to check / changed since
            out.print(f"{label}  {verdict.run_id}: {verdict.broken} ({counts} verified before it)", markup=False)
        elif verdict.unfinished:
            out.print(f"intact  {verdict.run_id}: {counts}; unfinished (the run never closed its record: the "
                      "summary anchors an earlier entry)", markup=False)
        else:
            out.print(f"intact  {verdict.run_id}: {counts}, summary anchored ({verdict.outcome})", markup=False)
    if any(not v.ok for v in verdicts):
        raise typer.Exit(int(ExitCode.FAILED))
