"""Answering a running run's gates from outside it: `jeju-play approve` / `deny`, and serve's approval endpoint.

A run that has nobody at a terminal (started by an alert, or with no tty) lists each gate it waits at in its
record folder, runs/<run-id>/gates/<gate-id>.pending.json. An answer is written beside it as
<gate-id>.answer.json, once (the first answer wins); the run reads it on its next poll, checks its guards (a
freeze set meanwhile still refuses) and records who answered, how and when with the gate.

A gate is named by its approval name (`local:restart:op-node`), its id, or its task name; with one gate pending
the name may be left out. Production keeps its rule: the answer names the environment.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jeju_play import audit
from jeju_play.errors import BadInput, Refused
from jeju_play.paths import runs_dir
from jeju_play.record import now_iso

FOLDER = "gates"
PENDING = ".pending.json"
ANSWER = ".answer.json"


@dataclass(frozen=True)
class Answer:
    """One human's answer to one gate."""

    approved: bool
    who: str
    how: str  # "jeju-play approve", "serve approval endpoint", ...
    environment: str | None = None  # the environment the approver named (production needs it)
    reason: str = ""

    def as_record(self) -> dict[str, Any]:
        verb = "approved" if self.approved else "denied"
        how = f"{verb} with {self.how}" + (f": {self.reason}" if self.reason else "")
        return {"approved": self.approved, "who": self.who, "how": how, "when": now_iso(),
                **({"reason": self.reason} if self.reason else {})}


def publish(inbox: Path, gate_id: str, request: dict[str, Any], environment: str, production: bool) -> None:
    """The run's side: gate `gate_id` waits for an answer (written atomically)."""
    inbox.mkdir(exist_ok=True)
    body = dict(request, environment=environment, production=production, waiting_since=now_iso())
    audit.atomic_write(inbox / f"{gate_id}{PENDING}", json.dumps(body, indent=2) + "\n")


def withdraw(inbox: Path, gate_id: str) -> None:
    """The run's side: the gate is decided (or the run ended); it waits no more."""
    (inbox / f"{gate_id}{PENDING}").unlink(missing_ok=True)


def take(inbox: Path, gate_id: str) -> dict[str, Any] | None:
    """The run's side: the answer written for `gate_id`, if any."""
    path = inbox / f"{gate_id}{ANSWER}"
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError):
        return {"approved": False, "who": "jeju-play", "how": f"refused: the answer file {path} is unreadable",
                "when": now_iso()}


def pending(run_id: str, base: Path | None = None) -> list[dict[str, Any]]:
    """The gates run `run_id` waits at now, oldest first (each with its `id`)."""
    inbox = audit.run_folder(base or runs_dir(), run_id) / FOLDER
    found = []
    for path in sorted(inbox.glob(f"*{PENDING}"), key=lambda p: p.stat().st_mtime) if inbox.is_dir() else []:
        try:
            found.append(dict(json.loads(path.read_text(encoding="utf-8")),
                              id=path.name.removesuffix(PENDING)))
        except (OSError, json.JSONDecodeError):
            continue  # being replaced right now
    return found


def waiting(base: Path | None = None) -> list[tuple[str, dict[str, Any]]]:
    """Every (run id, gate) waiting for an answer, across the record."""
    folder = base or runs_dir()
    gates = []
    for inbox in sorted(folder.glob(f"*/{FOLDER}")) if folder.is_dir() else []:
        gates += [(inbox.parent.name, gate) for gate in pending(inbox.parent.name, folder)]
    return gates


def choose(gates: list[dict[str, Any]], run_id: str, name: str | None) -> dict[str, Any]:
    """The gate `name` picks among the pending ones (any gate when one is pending and no name is given)."""
    if not gates:
        raise BadInput(f"Run {run_id} waits at no gate now: nothing to answer. `jeju-play runs show {run_id}` "
                       "shows its gates.")
    if name is None:
        if len(gates) == 1:
            return gates[0]
        raise BadInput(f"Run {run_id} waits at {len(gates)} gates; name one: " + ", ".join(
            str(g.get("approval")) for g in gates))
    for gate in gates:
        if name in (gate.get("approval"), gate.get("id"), gate.get("task")):
            return gate
    raise BadInput(f"Run {run_id} waits at no gate '{name}'. It waits at: " + ", ".join(
        str(g.get("approval")) for g in gates))


def answer(run_id: str, gate_name: str | None, given: Answer, base: Path | None = None) -> dict[str, Any]:
    """Write `given` for one pending gate of a running run; return the gate. Bad input (unknown run, no such gate,
    already answered) raises BadInput; a production gate whose answer does not name the environment, Refused."""
    folder = audit.run_folder(base or runs_dir(), run_id)
    gate = choose(pending(run_id, base), run_id, gate_name)
    environment = str(gate.get("environment", ""))
    if gate.get("production") and given.approved and given.environment != environment:
        named = f" (named {given.environment!r})" if given.environment else ""
        raise Refused(f"{environment} is production: an approval names it{named}. Approve with "
                      f"`jeju-play approve {run_id} {gate.get('approval')} --yes-i-mean {environment}`.")
    if given.environment and given.environment != environment:
        raise Refused(f"Run {run_id} runs on {environment}, not {given.environment}: nothing answered.")
    target = folder / FOLDER / f"{gate['id']}{ANSWER}"
    draft = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    draft.write_text(json.dumps(given.as_record()), encoding="utf-8")
    try:
        os.link(draft, target)  # whole or not at all, and only once: the first answer wins
    except FileExistsError as exc:
        raise BadInput(f"Gate {gate.get('approval')} of run {run_id} is already answered.") from exc
    finally:
        draft.unlink(missing_ok=True)
    return gate
