"""The jeju-play command line: thin Typer commands over plain modules.

`jeju-play <incident> -i <env>` is routed to the hidden `run` command, so that incidents read as verbs.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Annotated, Any

import click
import typer
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from jeju_play import catalog as catalog_mod
from jeju_play import environments, record
from jeju_play.cli_freeze import freeze_app
from jeju_play.cli_lab import lab_app
from jeju_play.errors import BadInput, ExitCode, JejuPlayError
from jeju_play.paths import project_root

out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class _Group(TyperGroup):
    """Turns our errors into their message and exit code, with no traceback, wherever the app is invoked."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JejuPlayError as exc:
            err.print(Text.assemble((f"{type(exc).__name__}: ", "bold red"), str(exc)))
            raise typer.Exit(int(exc.exit_code)) from exc


app = typer.Typer(
    cls=_Group,
    name="jeju-play",
    help="Run the Jeju incident runbook as Ansible playbooks: `jeju-play <incident> -i <env>`. "
    "`jeju-play list` shows the incidents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
runs_app = typer.Typer(help="Past runs from the record.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(lab_app, name="lab")
app.add_typer(freeze_app, name="freeze")

# Commands that exist or are planned; incident names and aliases may never take them.
PLANNED_COMMANDS = {"lab", "drill", "serve", "audit", "freeze", "help", "version"}
_EXTRA_VAR = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
_RESERVED_VAR_PREFIXES = ("ansible_", "jeju_run_", "jeju_project_root", "jeju_gate_preapproved")


def command_names() -> set[str]:
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    names |= {g.name or "" for g in app.registered_groups}
    return {n.replace("_", "-") for n in names if n} | PLANNED_COMMANDS


@app.command("list")
def list_incidents(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the incidents of the catalog."""
    cat = catalog_mod.load(project_root())
    if as_json:
        out.print_json(json.dumps([i.as_dict() for i in cat.incidents]))
        return
    table = Table(title="Jeju incidents (catalog.yml)")
    for column in ("incident", "sev", "respond", "automated", "aliases", "summary"):
        table.add_column(column)
    for i in cat.incidents:
        table.add_row(i.name, i.severity, i.response_time, "yes" if i.automated else "no (manual)",
                      ", ".join(i.aliases), i.summary)
    out.print(table)


@app.command()
def show(incident: Annotated[str, typer.Argument(help="Incident name or alias.")]) -> None:
    """Show what an incident's playbook does, phase by phase, and which steps are gated."""
    from jeju_play.outline import outline
    from jeju_play.runbook import find_section

    root = project_root()
    item = catalog_mod.load(root).get(incident)
    out.print(f"[bold]{item.name}[/bold]: {item.title}  ({item.severity}, respond {item.response_time}, "
              f"escalation level {item.escalation}, updates every {item.update_every or '-'})")
    out.print(f"Runbook section: \"{item.runbook}\"    Playbook: {item.playbook}")
    if not item.automated:
        out.print("[yellow]Not automated yet.[/yellow] Running it prints the runbook's manual steps:")
        section = find_section(root / "docs" / "runbook.md", item.runbook)
        out.print(section.body if section else "(section not found)", markup=False)
        return
    for play in outline(root / item.playbook, root / "roles"):
        out.print(f"\n[bold]{play.phase}[/bold]  {play.name}")
        for step in play.steps:
            mark = "[bold yellow]GATE[/bold yellow] " if step.gated else "     "
            out.print(f"  {mark}{'  ' * step.depth}{step.name}  [dim]{step.module}[/dim]")


@app.command("run", hidden=True)
def run_incident(
    incident: Annotated[str, typer.Argument(help="Incident name or alias (see `jeju-play list`).")],
    inventory: Annotated[str, typer.Option("-i", "--inventory", help="Environment name or inventory path.")],
    check: Annotated[bool, typer.Option("--check", help="Diagnose and show the plan; change nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Pre-approve every gate.")] = False,
    yes_i_mean: Annotated[
        str | None, typer.Option("--yes-i-mean", help="Pre-approve on a production environment: its name.")
    ] = None,
    extra: Annotated[list[str] | None, typer.Option("-e", "--extra-var", help="KEY=VALUE for the playbook.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON.")] = False,
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, help="More Ansible output.")] = 0,
) -> None:
    """Run an incident's playbook against an environment."""
    from jeju_play.incident_run import run_from_cli

    root = project_root()
    item = catalog_mod.load(root).get(incident)
    env = environments.load(root, inventory)
    if yes_i_mean is not None and yes_i_mean != env.name:
        raise BadInput(f"--yes-i-mean {yes_i_mean} does not match the environment '{env.name}'.")
    code = run_from_cli(root, item, env, check=check, yes=yes or yes_i_mean is not None,
                        confirmed=yes_i_mean == env.name, extra_vars=parse_extra_vars(extra or []),
                        as_json=as_json, verbosity=verbose, out=out, err=err)
    raise typer.Exit(code)


@app.command()
def drill(
    incident: Annotated[str, typer.Argument(help="An automated incident (see `jeju-play list`).")],
    fault: Annotated[str | None, typer.Option("--fault", help="A lab fault (`jeju-play lab faults`).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the drill report as JSON.")] = False,
) -> None:
    """Rehearse an incident on the lab: fresh lab, break, run with approvals given, check recovery."""
    from dataclasses import asdict

    from jeju_play.drill import run_drill

    report = run_drill(project_root(), incident, fault, err if as_json else out, quiet=as_json)
    if as_json:
        out.print_json(json.dumps(asdict(report)))
    else:
        verdict = {True: "[green]recovered[/green]", False: "[red]NOT recovered[/red]", None: "not checked"}
        out.print(f"Drill {report.incident} / {report.fault}: run exit {report.run_exit_code}, "
                  f"lab {verdict[report.recovered]}, exit {report.exit_code}", soft_wrap=True)
        for problem in report.problems:
            out.print(f"  - {problem}", markup=False, soft_wrap=True)
        timings = ", ".join(f"{step.replace('_', ' ')} {seconds:.1f} s" for step, seconds in report.seconds.items())
        out.print(f"  timings: {timings}", markup=False, soft_wrap=True)
        out.print(f"  record: {report.record}", markup=False, soft_wrap=True)
    raise typer.Exit(report.exit_code)


@app.command()
def history(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List past runs, newest first."""
    runs = record.list_runs()[:limit]
    if as_json:
        out.print_json(json.dumps(runs))
        return
    if not runs:
        out.print("No runs recorded yet.")
        return
    table = Table(title="Runs")
    for column in ("run id", "incident", "env", "outcome", "exit", "who", "started"):
        table.add_column(column, no_wrap=column in ("run id", "started"))
    for r in runs:
        table.add_row(r.get("run_id", ""), r.get("incident", ""), r.get("environment", ""),
                      r.get("outcome", ""), str(r.get("exit_code", "")), r.get("who", ""), r.get("started", ""))
    out.print(table)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="A run id from `jeju-play history`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one run: summary, phases, gates and approvals."""
    summary, approvals = record.load_run(run_id)
    if as_json:
        out.print_json(json.dumps({"summary": summary, "approvals": approvals}))
        return
    out.print(f"[bold]{summary['run_id']}[/bold]  {summary['incident']} on {summary['environment']}  "
              f"outcome: {summary['outcome']} (exit {summary['exit_code']})")
    out.print(f"who: {summary['who']}  started: {summary['started']}  ended: {summary.get('ended')}")
    out.print(summary.get("message", ""), markup=False)
    escalation = summary.get("escalation") or {}
    if escalation:
        out.print(f"  hand to: {escalation.get('contact')} (level {escalation.get('level')}); "
                  f"next: {escalation.get('advice')}", markup=False, soft_wrap=True)
    for phase, result in summary.get("phases", {}).items():
        out.print(f"  {phase:<10} {result['status']:<8} ok={result['ok']} changed={result['changed']} "
                  f"failed={result['failed']} skipped={result['skipped']}")
    for gate in summary.get("gates", []):
        out.print(f"  gate: {gate.get('description')} -> {gate.get('decision')}", markup=False)


def parse_extra_vars(items: list[str]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for item in items:
        match = _EXTRA_VAR.match(item)
        if not match:
            raise BadInput(f"-e expects KEY=VALUE, got {item!r}.")
        key, value = match.groups()
        if key.startswith(_RESERVED_VAR_PREFIXES):
            raise BadInput(f"-e {key}: that variable is set by jeju-play itself; choose another name.")
        parsed[key] = yaml.safe_load(value) if value[:1] in "[{" else value
    return parsed


def _route(argv: list[str]) -> list[str]:
    """`jeju-play network-down -i mainnet` -> `jeju-play run network-down -i mainnet`."""
    if argv and not argv[0].startswith("-") and argv[0] not in command_names() | {"run"}:
        return ["run", *argv]
    return argv


def main() -> None:
    try:
        app(args=_route(sys.argv[1:]), prog_name="jeju-play")
    except KeyboardInterrupt:
        err.print("Interrupted.")
        sys.exit(int(ExitCode.REFUSED))

