"""From the command line to a run: the production guard, how gates are answered, and what is printed."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from jeju_play.catalog import Incident
from jeju_play.environments import Environment
from jeju_play.errors import Refused
from jeju_play.gates import ApprovalPolicy
from jeju_play.record import operator
from jeju_play.run import RunOutcome, RunRequest, execute
from jeju_play.view import RunView


def interactive() -> bool:
    return sys.stdin.isatty()


def terminal_ask(view: RunView, err: Console) -> Any:
    def ask(request: dict[str, Any], word: str) -> str | None:
        with view.paused():
            view.show_gate(request)
            try:
                return err.input(f"Type [bold]{word}[/bold] to approve, anything else refuses: ")
            except EOFError:
                return ""

    return ask


def production_preapproval(env: Environment, yes: bool, confirmed: bool, err: Console) -> bool:
    """--yes on production counts only with the environment's name typed or given with --yes-i-mean."""
    if not yes:
        return False
    if not env.production or confirmed:
        return True
    if not interactive():
        raise Refused(f"'{env.name}' is a production environment: --yes alone is not enough. "
                      f"Pass --yes-i-mean {env.name}, or run at a terminal and type its name.")
    typed = err.input(f"[bold red]{env.name} is production.[/bold red] Type its name to pre-approve every "
                      "gate: ")
    if typed.strip() != env.name:
        raise Refused(f"Pre-approval for {env.name} not confirmed (typed {typed.strip()!r}). Nothing ran.")
    return True


def run_from_cli(root: Path, incident: Incident, env: Environment, *, check: bool, yes: bool,
                 confirmed: bool, extra_vars: dict[str, Any], as_json: bool, verbosity: int,
                 out: Console, err: Console) -> int:
    from jeju_play.freeze import guard

    warning = guard(env, incident.name, check)
    if warning:
        err.print(warning, style="yellow", markup=False)
    preapproved = production_preapproval(env, yes, confirmed, err) if not check else False
    view = RunView(console=err if as_json else out, quiet=as_json)
    policy = ApprovalPolicy(operator=operator(), environment=env.name, production=env.production,
                            preapproved=preapproved, ask=terminal_ask(view, err) if interactive() else None)
    outcome = execute(RunRequest(incident, env, root, check=check, extra_vars=extra_vars,
                                 verbosity=verbosity), policy, view)
    print_outcome(outcome, as_json, out)
    return outcome.exit_code


def print_outcome(outcome: RunOutcome, as_json: bool, out: Console) -> None:
    summary = outcome.summary
    if as_json:
        out.print_json(json.dumps({**summary.as_dict(), "record": str(outcome.record_dir)}))
        return
    style = {"verified": "bold green", "plan shown": "bold green", "refused": "bold yellow",
             "escalated": "bold magenta", "handed to humans": "bold magenta"}.get(summary.outcome, "bold red")
    out.print(f"[{style}]{summary.outcome.upper()}[/{style}] (exit {summary.exit_code}) ", end="")
    out.print(summary.message, markup=False)
    if summary.escalation:
        out.print(f"  hand to: {summary.escalation.get('contact') or 'the escalation path'} "
                  f"(level {summary.escalation.get('level')})", markup=False, soft_wrap=True)
        if summary.escalation.get("advice"):
            out.print(f"  next: {summary.escalation['advice']}", markup=False, soft_wrap=True)
    for gate in summary.gates:
        out.print(f"  gate: {gate.get('description')} -> {gate.get('decision')}", markup=False)
    out.print(f"Record: {outcome.record_dir}", markup=False)
