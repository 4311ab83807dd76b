"""`jeju-play INCIDENT -i A -i B` (or `-i GROUP`): each environment's run at once (jeju_play.fleet), one table."""

from __future__ import annotations

import json
from typing import NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from jeju_play.errors import BadInput
from jeju_play.paths import project_root

out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def run_fleet(incident: str, given: list[str], *, check: bool, yes: bool, yes_i_mean: list[str],
               passed: list[str], as_json: bool, forks: int) -> NoReturn:
    """Each environment's run at once (jeju_play.fleet), then one table; exits with the worst outcome."""
    from dataclasses import asdict

    from jeju_play import catalog, fleet

    root = project_root()
    name = catalog.load(root).get(incident).name
    names = fleet.expand(root, given)
    unknown = [n for n in yes_i_mean if n not in names]
    if unknown:
        raise BadInput(f"--yes-i-mean {', '.join(unknown)}: not among the environments of this run "
                       f"({', '.join(names)}).")
    say = err.print if as_json else out.print
    fleet.check_forks(forks)  # before the first line is said
    at_once = "at once" if forks >= len(names) else f"{forks} at a time"
    say(f"{name} on {len(names)} environments {at_once}: {', '.join(names)} (a record each)", markup=False)
    runs = fleet.run_across({env: fleet.child_args(name, env, check=check, yes=yes, yes_i_mean=yes_i_mean,
                                                   passed=passed) for env in names},
                            lambda line: say(line, markup=False), forks=forks)
    if as_json:
        out.print_json(json.dumps([{**asdict(r), "outcome": r.outcome} for r in runs]))
    else:
        table = Table(title=f"{name}: {len(names)} environments", box=None, header_style="bold", pad_edge=False)
        table.add_column("env", no_wrap=True, max_width=14, overflow="ellipsis")
        table.add_column("outcome", no_wrap=True)
        table.add_column("exit", no_wrap=True, justify="right")
        table.add_column("what it said (record: runs show RUN_ID)", overflow="fold")
        for r in runs:
            said = r.message + (f" [run {r.summary['run_id']}]" if r.summary.get("run_id") else "")
            table.add_row(r.environment, r.outcome, str(r.exit_code), Text(said))
        out.print(table)
    raise typer.Exit(fleet.exit_code(runs))
