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
def up(count: Annotated[int | None, typer.Option(
        "--count", help="Start N more Jejus beside the lab (local-1 ... local-N, the group lab-fleet).",
        show_default=False)] = None) -> None:
    """Start the lab in the background (or say that it runs) and print its endpoints."""
    if count is not None:
        _fleet_up(count)
        return
    lab = _lab()
    state, started = lab.up()
    out.print("Lab started." if started else "The lab is already running; nothing changed.")
    for name, value in state.get("endpoints", {}).items():
        out.print(f"  {name:<18} {value}")
    out.print(f"  {'kubeconfig':<18} {state.get('kubeconfig')}")
    out.print(f"  {'inventory':<18} {state.get('inventory_file')}  (use -i local)")


def _fleet_up(count: int) -> None:
    from jeju_lab import fleet

    table = Table(title=f"The lab's fleet: {count} Jejus (-i {fleet.GROUP} runs on all)")
    for column in ("environment", "state", "L2 RPC", "kube API"):
        table.add_column(column)
    for member, state, started in fleet.up(count):
        endpoints = state.get("endpoints", {})
        table.add_row(member.name, "started" if started else "running", str(endpoints.get("l2_rpc_urls", ["?"])[0]),
                      str(endpoints.get("kube_api", "?")))
    out.print(table)


@lab_app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Each component of the lab and its health."""
    from jeju_lab import fleet

    data = _lab().status()
    members = {m.name: m.lab.running() for m in fleet.members_started()}
    if members:
        data["fleet"] = members
    if as_json:
        out.print_json(json.dumps(data))
        return
    if members:
        out.print("Fleet: " + ", ".join(f"{name} {'running' if up else 'stopped'}" for name, up in members.items()))
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
    from jeju_lab import fleet

    stopped = _lab().down()
    members = fleet.members_started()
    fleet.down()
    out.print(f"Lab stopped ({len(stopped)} processes)." if stopped else "The lab was not running.")
    if members:
        out.print(f"Fleet stopped: {len(members)} Jejus ({', '.join(m.name for m in members)}); their "
                  "inventories removed.")
