"""`jeju-play lab ...`: the local lab (real anvil chains, the Kubernetes API double, op-stack simulators)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from jeju_lab.control import Lab

lab_app = typer.Typer(help="The local lab: real anvil chains, a Kubernetes API double, op-stack simulators.",
                      no_args_is_help=True)
out = Console(highlight=False)


def _lab() -> Lab:
    from jeju_lab.control import Lab

    return Lab.default()


@lab_app.command()
def up() -> None:
    """Start the lab in the background (or say that it runs) and print its endpoints."""
    lab = _lab()
    state, started = lab.up()
    out.print("Lab started." if started else "The lab is already running; nothing changed.")
    for name, value in state.get("endpoints", {}).items():
        out.print(f"  {name:<18} {value}")
    out.print(f"  {'kubeconfig':<18} {state.get('kubeconfig')}")
    out.print(f"  {'inventory':<18} {state.get('inventory_file')}  (use -i local)")


@lab_app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Each component of the lab and its health."""
    data = _lab().status()
    if as_json:
        out.print_json(json.dumps(data))
        return
    if not data["running"]:
        out.print(f"The lab is not running (last status: {data['status']}). `jeju-play lab up` starts it.")
        raise typer.Exit(1)
    table = Table(title="Lab components")
    table.add_column("component")
    table.add_column("health")
    table.add_column("details")
    for name, info in data["components"].items():
        health = "[green]healthy[/green]" if info.get("healthy") else "[red]DOWN[/red]"
        details = ", ".join(f"{k}={v}" for k, v in info.items() if k != "healthy")
        table.add_row(name, health, details)
    out.print(table)
    active = data.get("faults", {}).get("active", [])
    out.print(f"Active faults: {', '.join(active) if active else 'none'}")


@lab_app.command()
def faults() -> None:
    """The faults the lab can make, one line each."""
    for item in _lab().faults():
        mark = "[red]ACTIVE[/red] " if item["active"] else ""
        out.print(f"{mark}[bold]{item['name']}[/bold] ({item['incident']}): {item['summary']}")


@lab_app.command("break")
def break_(fault: Annotated[str, typer.Argument(help="A fault from `jeju-play lab faults`.")]) -> None:
    """Make a fault happen."""
    result = _lab().break_fault(fault)
    out.print(f"Broke {fault}. Active faults: {', '.join(result['faults']['active'])}")


@lab_app.command()
def heal(fault: Annotated[str | None, typer.Argument(help="A fault; all active ones when omitted.")] = None) -> None:
    """Take a fault's cause away (what playbooks changed stays)."""
    result = _lab().heal(fault)
    healed = ", ".join(result["healed"]) or "nothing (no active fault)"
    out.print(f"Healed {healed}.")


@lab_app.command()
def down() -> None:
    """Stop every process the lab started, by pid."""
    stopped = _lab().down()
    out.print(f"Lab stopped ({len(stopped)} processes)." if stopped else "The lab was not running.")
