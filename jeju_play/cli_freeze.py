"""`jeju-play freeze status|lift -i ENV`: the security freeze a security-breach run sets in the target cluster."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console

freeze_app = typer.Typer(help="The security freeze: while it stands, no playbook restarts the stopped services.",
                         no_args_is_help=True)
out = Console(highlight=False)
Inventory = Annotated[str, typer.Option("-i", "--inventory", help="Environment name or inventory path.")]


@freeze_app.command()
def status(inventory: Inventory,
           as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Whether a security freeze stands on the environment, who set it, when and why."""
    from jeju_play import environments, freeze
    from jeju_play.paths import project_root

    env = environments.load(project_root(), inventory)
    found = freeze.read(env)
    if as_json:
        out.print_json(json.dumps({"frozen": bool(found and found.active), "freeze": asdict(found) if found else None}))
        return
    if found is None:
        out.print(f"No security freeze on '{env.name}'.")
    elif not found.active:
        out.print(f"No security freeze on '{env.name}': the last one (run {found.run_id}) was lifted by "
                  f"{found.lifted_by} at {found.lifted_at}: {found.lift_reason}", markup=False)
    else:
        out.print(f"FROZEN: '{env.name}' since {found.frozen_at} by {found.frozen_by} (run {found.run_id}): "
                  f"{found.reason}. Held stopped: {', '.join(found.components)}.", markup=False)
        out.print(f"Lift it when it is safe: jeju-play freeze lift -i {env.name} --reason \"...\"", markup=False)


@freeze_app.command()
def lift(inventory: Inventory,
         reason: Annotated[str, typer.Option("--reason", help="Why it is safe to restart now (recorded).")]) -> None:
    """Lift the security freeze; who lifted it, when and why stay in the cluster."""
    from jeju_play import environments, freeze
    from jeju_play.paths import project_root
    from jeju_play.record import operator

    env = environments.load(project_root(), inventory)
    lifted = freeze.lift(env, reason, operator())
    out.print(f"Security freeze on '{env.name}' lifted by {lifted.lifted_by} at {lifted.lifted_at}: "
              f"{lifted.lift_reason}. Playbooks may restart {', '.join(lifted.components)} again.", markup=False)
