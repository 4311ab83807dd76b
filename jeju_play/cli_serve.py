"""`jeju-play serve`, `approve` and `deny`: alert-driven runs and the answers to their gates."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from jeju_play.errors import BadInput

out = Console(highlight=False, soft_wrap=True)
TAKEN_WAIT_SECONDS = 5.0


def _listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadInput(f"--listen {value}: expected HOST:PORT, such as 127.0.0.1:8790.")
    return host, int(port)


def serve(
    inventory: Annotated[list[str] | None, typer.Option("-i", "--inventory",
                                                        help="An environment to serve (repeat for more).")] = None,
    listen: Annotated[str | None, typer.Option("--listen", help="HOST:PORT to listen on (default: the "
                                               "environments' jeju_serve_listen).")] = None,
    paused: Annotated[bool, typer.Option("--paused", help="Start paused: alerts are recorded, no run starts.")] = False,
    drain: Annotated[float, typer.Option("--drain", min=0, help="On SIGTERM, wait up to this many seconds for the "
                                         "runs started to end, taking no new alert (in a Pod, they end with it).")
                     ] = 0.0,
) -> None:
    """Receive Alertmanager's webhooks: diagnose at once, hold every gate for approval."""
    from jeju_play.paths import project_root
    from jeju_play.serve import ServeConfig, listen_of, serve_forever

    root, names = project_root(), list(inventory or [])
    host, port = _listen(listen or listen_of(root, names))
    config = ServeConfig(root, names, host=host, port=port, paused=paused, drain_seconds=drain)
    serve_forever(config, say=lambda line: out.print(line, markup=False))


RunId = Annotated[str, typer.Argument(help="The run waiting at the gate (`jeju-play history`).")]
Gate = Annotated[str | None, typer.Argument(help="The gate's approval name (e.g. local:restart:op-node); may be "
                                                 "left out when the run waits at one gate.")]


def approve(
    run_id: RunId, gate: Gate = None,
    yes_i_mean: Annotated[str | None, typer.Option("--yes-i-mean",
                                                   help="On production: the environment's name.")] = None,
) -> None:
    """Approve a gate a running run waits at (a run started by an alert, or with no terminal)."""
    _answer(run_id, gate, approved=True, environment=yes_i_mean, reason="")


def deny(
    run_id: RunId, gate: Gate = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with the gate).")] = "",
) -> None:
    """Refuse a gate a running run waits at: the run stops there."""
    if not reason.strip():
        raise BadInput('A denial says why: --reason "...".')
    _answer(run_id, gate, approved=False, environment=None, reason=reason.strip())


def _answer(run_id: str, gate: str | None, *, approved: bool, environment: str | None, reason: str) -> None:
    from jeju_play import approvals
    from jeju_play.record import operator

    given = approvals.Answer(approved=approved, who=operator(), how="jeju-play " + ("approve" if approved else "deny"),
                             environment=environment, reason=reason)
    answered = approvals.answer(run_id, gate, given)
    verb = "Approved" if approved else "Denied"
    out.print(f"{verb} {answered.get('approval')} of run {run_id}: {' '.join(str(answered['description']).split())}",
              markup=False)
    deadline = time.monotonic() + TAKEN_WAIT_SECONDS
    while time.monotonic() < deadline:
        if not any(g["id"] == answered["id"] for g in approvals.pending(run_id)):
            out.print("The run took the answer.")
            return
        time.sleep(0.1)
    out.print(f"The run has not taken the answer within {TAKEN_WAIT_SECONDS:.0f} s: is it still running? "
              f"`jeju-play runs show {run_id}`", markup=False)
