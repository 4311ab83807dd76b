"""`jeju-play validate [-i ENV ...]`: check inventories against inventories/schema.json without running anything.

For the GitOps repository's CI: a pull request that breaks an inventory fails before it merges. Exit 0 when every
environment is sane, 2 with every problem listed (file, line, key) otherwise.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def validate(
    inventory: Annotated[list[str] | None, typer.Option(
        "-i", "--inventory", help="Environment name or inventory path (repeat it); default: every one.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the problems as JSON.")] = False,
) -> None:
    """Validate inventories against inventories/schema.json; nothing runs, nothing is recorded."""
    from jeju_play import environments
    from jeju_play.errors import BadInput, ExitCode
    from jeju_play.paths import project_root

    root = project_root()
    names = inventory or environments.available(root)
    if not names:
        raise BadInput(f"No environment under {root / 'inventories'}: nothing to validate.")
    report = []
    for name in names:
        env, problems = environments.check(root, name)
        report.append({"environment": env.name, "path": str(env.path), "valid": not problems,
                       "files": sorted({str(f) for f in env.sources.values()}),
                       "problems": [p.as_dict() for p in problems]})
        if as_json:
            continue
        if problems:
            err.print(f"{env.name} ({env.path}): {len(problems)} problem{'s' if len(problems) > 1 else ''}",
                      markup=False)
            for problem in problems:
                err.print(f"  - {problem.message}", markup=False)
        else:
            out.print(f"{env.name} ({env.path}): valid, {len(env.variables)} variables from "
                      f"{len(env.lines)} files", markup=False)
    if as_json:
        out.print_json(json.dumps(report))
    if any(not entry["valid"] for entry in report):
        raise typer.Exit(int(ExitCode.BAD_INPUT))
