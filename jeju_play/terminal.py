"""The terminal side of a run: asking a human at a gate, confirming production, and printing the outcome."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

from jeju_play import interrupt
from jeju_play.gates import AskFn
from jeju_play.request import ConfirmFn
from jeju_play.run import RunOutcome
from jeju_play.view import RunView


def interactive() -> bool:
    return sys.stdin.isatty()


def ask_at(view: RunView, err: Console) -> AskFn | None:
    """Ask each gate at the terminal (None without one: gates then wait for their timeout, and refuse)."""
    if not interactive():
        return None

    def ask(request: dict[str, Any], word: str) -> str | None:
        with view.paused():
            view.show_gate(request)
            err.print(f"Type [bold]{word}[/bold] to approve, anything else refuses: ", end="")
            return interrupt.read_line()

    return ask


def confirm_at(err: Console) -> ConfirmFn | None:
    """Ask once for the production environment's name (None without a terminal)."""
    if not interactive():
        return None

    def confirm(prompt: str) -> str | None:
        err.print(f"[bold red]{prompt}[/bold red]", end="")
        return interrupt.read_line()

    return confirm


def print_outcome(outcome: RunOutcome, as_json: bool, out: Console) -> None:
    summary = outcome.summary
    if as_json:
        out.print_json(json.dumps({**summary.as_dict(), "record": str(outcome.record_dir)}))
        return
    style = {"verified": "bold green", "plan shown": "bold green", "refused": "bold yellow",
             "escalated": "bold magenta", "handed to humans": "bold magenta"}.get(summary.outcome, "bold red")
    out.print(f"[{style}]{summary.outcome.upper()}[/{style}] (exit {summary.exit_code}) ", end="")
    out.print(summary.message, markup=False, soft_wrap=True)
    if summary.escalation:
        out.print(f"  hand to: {summary.escalation.get('contact') or 'the escalation path'} "
                  f"(level {summary.escalation.get('level')})", markup=False, soft_wrap=True)
        if summary.escalation.get("advice"):
            out.print(f"  next: {summary.escalation['advice']}", markup=False, soft_wrap=True)
    for gate in summary.gates:
        description = " ".join(str(gate.get("description")).split())
        out.print(f"  gate: {description} -> {gate.get('decision')}", markup=False, soft_wrap=True)
    out.print(f"Record: {outcome.record_dir}", markup=False, soft_wrap=True)
