"""`jeju-play incidents [--all]`, `incidents show ID`, `incidents close ID --reason`; `jeju-play report ID --kind`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

incidents_app = typer.Typer(help="Incidents: opened by the first run that finds one, closed by a verified recovery.",
                            invoke_without_command=True)
out = Console(highlight=False)
IncidentId = Annotated[str, typer.Argument(help="An incident ID from `jeju-play incidents` (INC-...).")]


@incidents_app.callback()
def listing(ctx: typer.Context,
            every: Annotated[bool, typer.Option("--all", help="Closed ones too.")] = False,
            environment: Annotated[str | None, typer.Option("-i", "--inventory", help="Only this environment.")] = None,
            as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The open incidents (with --all, every one), newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from jeju_play import incidents

    found = [i for i in incidents.all_incidents() if (every or i.is_open)
             and environment in (None, i.environment)]
    if as_json:
        out.print_json(json.dumps([i.as_dict() for i in found]))
        return
    if not found:
        out.print("No open incidents." if not every else "No incidents recorded yet.")
        return
    table = Table(title="Incidents" if every else "Open incidents", box=None, header_style="bold", pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("incident", no_wrap=True, max_width=18, overflow="ellipsis")
    table.add_column("sev", no_wrap=True)
    table.add_column("env", no_wrap=True, max_width=10, overflow="ellipsis")
    table.add_column("status", no_wrap=True)
    table.add_column("runs", no_wrap=True, justify="right")
    for i in found:
        status = i.status if i.confirmed or not i.is_open else "open?"
        table.add_row(i.id, i.incident, i.severity, i.environment, status, str(len(i.runs)))
    out.print(table)
    out.print("`jeju-play incidents show ID` for the timeline.")


@incidents_app.command("show")
def show(incident_id: IncidentId,
         as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The incident's timeline: detected, diagnosed, each gate and who answered, each change, verified, updates."""
    from jeju_play import incidents, timeline

    incident = incidents.load(incident_id)
    story = timeline.story(incident)
    if as_json:
        out.print_json(json.dumps({"incident": incident.as_dict(), "timeline": [e.__dict__ for e in story.entries],
                                   "sent": story.sent}))
        return
    out.print(f"{incident.id}  {incident.title} ({incident.severity}) on {incident.environment}", markup=False)
    out.print("Status: OPEN" if incident.is_open else f"Status: closed {incident.closed} by {incident.closed_by}",
              markup=False)
    if story.cause:
        out.print(f"Cause: {story.cause.get('cause_text')}", markup=False)
    width = max(40, out.width - 16)
    for entry in story.entries:
        clock = entry.time[11:19] if len(entry.time) >= 19 else entry.time
        lines = _wrap(entry.text, width)
        out.print(f"  {clock}  {lines[0]}", markup=False)
        for more in lines[1:]:
            out.print(f"            {more}", markup=False)
    if incident.is_open:
        out.print(f"Close it: jeju-play incidents close {incident.id} --reason \"...\"", markup=False)


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(" ".join(text.split()), width) or [""]


@incidents_app.command("close")
def close(incident_id: IncidentId,
          reason: Annotated[str, typer.Option("--reason", help="Why it is over (recorded).")]) -> None:
    """Close an incident by hand (a verified recovery closes it by itself)."""
    from jeju_play import incidents
    from jeju_play.record import operator

    closed = incidents.close(incident_id, reason, operator())
    out.print(f"Closed {closed.id} ({closed.incident} on {closed.environment}) at {closed.closed}: "
              f"{closed.close_reason}", markup=False)


@incidents_app.command("update")
def update(incident_id: IncidentId,
           check: Annotated[bool, typer.Option("--check", help="Show the update; send nothing.")] = False,
           only_due: Annotated[bool, typer.Option("--due", help="Only if one is due (the catalog's update_every "
                                                  "since the last message); `jeju-play serve` posts these.")] = False,
           as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False) -> None:
    """Post the incident's status update now: its channels and the status page (status, actions, next, ETA)."""
    from jeju_play import updates
    from jeju_play.paths import project_root
    from jeju_play.record import operator
    from jeju_play.view import RunView

    err = Console(stderr=True, highlight=False)
    view = RunView(console=err if as_json else out, quiet=as_json)
    who = operator()
    posted = updates.post(project_root(), incident_id, view, operator=who, check=check, only_due=only_due)
    if as_json:
        out.print_json(json.dumps({"posted": posted is not None, **(posted.__dict__ if posted else {})},
                                  default=str))
    elif posted is None:
        out.print(f"No update of {incident_id} is due yet.", markup=False)
    else:
        out.print(posted.message, markup=False, soft_wrap=True)
    raise typer.Exit(posted.exit_code if posted else 0)


def report(incident_id: IncidentId,
           kind: Annotated[str, typer.Option("--kind", help="incident, security, update or postmortem.")] = "incident",
           out_file: Annotated[Path | None, typer.Option("--out", help="Write it here instead of printing.")] = None,
           ) -> None:
    """The runbook's messages filled in from the record: incident report, security notice, update, post-mortem."""
    from jeju_play import reports
    from jeju_play.errors import BadInput

    text = reports.render(incident_id, kind)
    if out_file is None:
        print(text, end="")
        return
    try:
        out_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"Cannot write {out_file}: {exc.strerror}. Choose another --out.") from exc
    out.print(f"Wrote the {kind} for {incident_id} to {out_file}.", markup=False)
