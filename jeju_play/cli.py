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
from jeju_play import record
from jeju_play.cli_audit import audit_app
from jeju_play.cli_drift import drift as drift_command
from jeju_play.cli_fleet import run_fleet
from jeju_play.cli_freeze import freeze_app
from jeju_play.cli_incidents import incidents_app
from jeju_play.cli_incidents import report as report_command
from jeju_play.cli_lab import lab_app
from jeju_play.cli_serve import approve as approve_command
from jeju_play.cli_serve import deny as deny_command
from jeju_play.cli_serve import serve as serve_command
from jeju_play.cli_validate import validate
from jeju_play.errors import BadInput, ExitCode, JejuPlayError
from jeju_play.paths import project_root

# typer escapes "[default: 20]" for rich even when help is plain click text (rich_markup_mode=None), so --help
# printed "\\[default: 20]"; rich help costs 0.2 s of start-up. Plain help, unescaped:
typer.core.HAS_RICH = False

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
app.add_typer(audit_app, name="audit")
app.add_typer(incidents_app, name="incidents")
app.command("validate")(validate)
app.command("report")(report_command)
app.command("drift")(drift_command)
app.command("serve")(serve_command)
app.command("approve")(approve_command)
app.command("deny")(deny_command)

# Commands that exist or are planned; incident names and aliases may never take them.
PLANNED_COMMANDS = {"lab", "drill", "serve", "audit", "freeze", "help", "version"}
_EXTRA_VAR = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)


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
    wide = out.width >= 120  # aliases only where they fit; the summary wraps in its own column
    table = Table(title="Jeju incidents (catalog.yml)", box=None, header_style="bold", pad_edge=False)
    for column in ("incident", "sev", "respond", "auto"):
        table.add_column(column, no_wrap=True)
    if wide:
        table.add_column("aliases")
    table.add_column("summary", ratio=1)
    for i in cat.incidents:
        row = [i.name, i.severity, i.response_time.removeprefix("< "), "yes" if i.automated else "no"]
        table.add_row(*row, *([", ".join(i.aliases)] if wide else []), i.summary)
    out.print(table)


@app.command()
def show(
    incident: Annotated[str, typer.Argument(help="Incident name or alias.")],
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Every step, with its module.")] = False,
) -> None:
    """Show what an incident's playbook does, phase by phase, and which steps are gated."""
    from jeju_play.outline import outline
    from jeju_play.runbook import find_section

    root = project_root()
    item = catalog_mod.load(root).get(incident)
    out.print(f"[bold]{item.name}[/bold]: {item.title}")
    out.print(f"{item.severity}, respond {item.response_time}, escalation level {item.escalation}, "
              f"updates every {item.update_every or '-'}", markup=False)
    out.print(f"Runbook: \"{item.runbook}\"", markup=False)
    out.print(f"Playbook: {item.playbook}", markup=False)
    if not item.routine:
        out.print("Tells people (roles/comms): when it opens, at each change, when verified or escalated; "
                  "-v lists each message.", markup=False)
    if not item.automated:
        out.print("[yellow]Not automated yet.[/yellow] Running it prints the runbook's manual steps:")
        section = find_section(root / "docs" / "runbook.md", item.runbook)
        out.print(section.body if section else "(section not found)", markup=False)
        return
    for play in outline(root / item.playbook, root / "roles"):
        out.print(Text.assemble("\n", (play.phase.title(), "bold"), f"  {play.name.split(':', 1)[-1].strip()}"))
        steps = Table.grid(padding=(0, 1))
        steps.add_column(width=6)
        steps.add_column()
        branches: list[int] = []  # depths of the branches (steps that run for one cause) around this step
        for step in play.steps:
            while branches and branches[-1] >= step.depth:
                branches.pop()
            level = step.depth if verbose else len(branches)
            if step.when:
                steps.add_row(Text(""), Text.assemble("  " * level, (f"if {step.when}: ", "cyan"), step.name))
                branches.append(step.depth)
                continue
            if step.bookkeeping and not (verbose or step.gated or step.escalates):
                continue
            mark = Text("GATE", "bold yellow") if step.gated else Text("HAND", "bold magenta") if (
                step.escalates) else Text("")
            name = Text("  " * (level + (1 if branches and not verbose else 0)) + step.name)
            if verbose:
                name.append(f"  {step.module}", style="dim")
            steps.add_row(Text.assemble("  ", mark), name)
        out.print(steps)
    _show_runner_gates()


def _show_runner_gates() -> None:
    """The runner's own gates, asked before any play starts (jeju_play.gates.RUNNER_GATES)."""
    from jeju_play.gates import RUNNER_GATES

    out.print(Text.assemble("\n", ("Runner", "bold"), "  before the first play, only when it applies"))
    steps = Table.grid(padding=(0, 1))
    steps.add_column(width=6)
    steps.add_column()
    for gate in RUNNER_GATES:
        steps.add_row(Text.assemble("  ", ("GATE", "bold yellow")),
                      Text.assemble(gate.task, "\n", (gate.when, "dim")))
    out.print(steps)


@app.command("run", hidden=True)
def run_incident(
    incident: Annotated[str, typer.Argument(help="Incident name or alias (see `jeju-play list`).")],
    inventory: Annotated[list[str], typer.Option("-i", "--inventory", help="Environment name or inventory path; "
                                                 "repeat it, or name a group, to run on several at once.")],
    check: Annotated[bool, typer.Option("--check", help="Diagnose and show the plan; change nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Pre-approve every gate.")] = False,
    yes_i_mean: Annotated[
        list[str] | None, typer.Option("--yes-i-mean", help="Pre-approve on a production environment: its name "
                                       "(repeat it for each, on several at once).")
    ] = None,
    extra: Annotated[list[str] | None, typer.Option("-e", "--extra-var", help="KEY=VALUE for the playbook.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run summary as JSON.")] = False,
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, help="Show every task; -vv... Ansible's.")] = 0,
    unreviewed: Annotated[bool, typer.Option("--unreviewed", help="On production: run content that is not "
                                             "reviewed (uncommitted, off the reviewed branch), at an extra gate."
                                             )] = False,
    alerts_file: Annotated[str | None, typer.Option("--alerts-file", hidden=True)] = None,  # serve: the alerts
    run_id: Annotated[str | None, typer.Option("--run-id", hidden=True)] = None,  # serve: the run id it recorded
    forks: Annotated[int | None, typer.Option("--forks", help="On several environments: how many runs at once "
                                              "(default: 5, as Ansible's forks).", show_default=False)] = None,
) -> None:
    """Run an incident's playbook against an environment (or several at once)."""
    from jeju_play import fleet, terminal
    from jeju_play import request as request_mod
    from jeju_play.record import operator
    from jeju_play.run import execute
    from jeju_play.view import RunView

    named = list(yes_i_mean or [])
    if len(inventory) > 1 or fleet.group_members(project_root(), inventory[0]) is not None:
        if alerts_file or run_id:
            raise BadInput("A run started by serve is on one environment: give one -i.")
        parse_extra_vars(extra or [])  # bad -e values stop here, before any environment's run
        passed = [*(a for item in extra or [] for a in ("-e", item)), *(["-" + "v" * verbose] if verbose else []),
                  *(["--unreviewed"] if unreviewed else [])]
        run_fleet(incident, inventory, check=check, yes=yes, yes_i_mean=named, passed=passed, as_json=as_json,
                  forks=fleet.FORKS if forks is None else forks)
    view = RunView(console=err if as_json else out, quiet=as_json, verbosity=verbose)
    alerts = request_mod.read_alerts(alerts_file) if alerts_file else None
    approval = request_mod.Approval(
        operator=f"jeju-play serve ({operator()})" if alerts is not None else operator(), yes=yes,
        yes_i_mean=next((n for n in named if n == inventory[0]), named[0] if named else None),
        ask=None if alerts is not None else terminal.ask_at(view, err), confirm=terminal.confirm_at(err))
    request = request_mod.build(project_root(), incident, inventory[0], approval, check=check,
                                extra_vars=parse_extra_vars(extra or []), verbosity=verbose,
                                origin="alert" if alerts is not None else "cli", run_id=run_id, alerts=alerts,
                                unreviewed=unreviewed)
    outcome = execute(request, view)
    terminal.print_outcome(outcome, as_json, out)
    raise typer.Exit(outcome.exit_code)


@app.command()
def drill(
    incident: Annotated[str, typer.Argument(help="An automated incident (see `jeju-play list`).")],
    fault: Annotated[str | None, typer.Option("--fault", help="A lab fault (`jeju-play lab faults`).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the drill report as JSON.")] = False,
    via_alerts: Annotated[bool, typer.Option("--via-alerts", help="Nothing typed: the lab's Prometheus fires, "
                                             "jeju-play serve runs it, the drill approves its gates.")] = False,
) -> None:
    """Rehearse an incident on the lab: fresh lab, break, run with approvals given, check recovery."""
    from dataclasses import asdict

    from jeju_play.drill import run_drill
    from jeju_play.drill_alerts import run_via_alerts

    drill_with = run_via_alerts if via_alerts else run_drill
    report = drill_with(project_root(), incident, fault, err if as_json else out, quiet=as_json)
    if as_json:
        out.print_json(json.dumps(asdict(report)))
    else:
        verdict = {True: "[green]recovered[/green]", False: "[red]NOT recovered[/red]", None: "not checked"}
        out.print(f"Drill {report.incident} / {report.fault}: run exit {report.run_exit_code}, "
                  f"lab {verdict[report.recovered]}, exit {report.exit_code}", soft_wrap=True)
        for problem in report.problems:
            out.print(f"  - {problem}", markup=False, soft_wrap=True)
        if report.cause or report.planned_cause:
            out.print(f"  plan (--check) found: {report.planned_cause}; the run acted on: {report.cause}",
                      markup=False, soft_wrap=True)
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
    # The run id holds the start time and the incident: at 80 columns the table keeps it whole and drops who
    # (and truncates it before anything else) rather than squeezing every column to nothing.
    table = Table(title="Runs", box=None, header_style="bold", pad_edge=False)
    table.add_column("run id (start, incident)", no_wrap=True)
    table.add_column("env", no_wrap=True, max_width=10, overflow="ellipsis")
    table.add_column("outcome", no_wrap=True)
    table.add_column("exit", no_wrap=True, justify="right")
    wide = out.width >= 110
    if wide:
        table.add_column("who", no_wrap=True, overflow="ellipsis")
    for r in runs:
        row = [r.get("run_id", ""), r.get("environment", ""), r.get("outcome", ""), str(r.get("exit_code", ""))]
        table.add_row(*row, *([r.get("who", "")] if wide else []))
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
    fired = summary.get("alerts") or []
    if fired:
        names = sorted({f"{a.get('alertname')} (since {a.get('startsAt')})" for a in fired})
        out.print(f"  started by {len(fired)} alert(s): {', '.join(names)}", markup=False, soft_wrap=True)
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
        try:
            parsed[key] = yaml.safe_load(value) if value[:1] in "[{" else value
        except (yaml.YAMLError, ValueError, RecursionError) as exc:  # ValueError: a date such as 2024-13-45
            problem = "nested too deep" if isinstance(exc, RecursionError) else (
                getattr(exc, "problem", None) or str(exc).splitlines()[0])
            raise BadInput(f"-e {key}: the value is not a YAML list or mapping ({problem}); fix or quote it.") from exc
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

