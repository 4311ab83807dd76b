"""The runner's side of gates: watch the gate folder, decide each request, write the answer.

The action plugin jeju.ops.gate (plugins/action/gate.py) writes <id>.request.json and waits for
<id>.answer.json. A request with no decision stays pending; the plugin refuses when its timeout runs out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jeju_play import approvals
from jeju_play.record import now_iso

# ask(request, expected_word) -> the line the human typed, or None when nobody can be asked
AskFn = Callable[[dict[str, Any], str], str | None]
# standing guard: () -> why no gate may be approved now (a security freeze set during the run), or None
GuardFn = Callable[[], str | None]


@dataclass(frozen=True)
class RunnerGate:
    """A gate the runner asks before any playbook starts (`jeju-play show` lists them with the playbook's)."""

    task: str
    kind: str
    when: str


GATE_UNREVIEWED = RunnerGate("Run unreviewed content (--unreviewed)", "unreviewed",
                             "on production, with --unreviewed, when the content is not reviewed")
GATE_TAKEOVER = RunnerGate("Take a dead run's remediation lock over", "takeover",
                           "when the remediation lock's holder died mid-run on this host")
RUNNER_GATES = (GATE_UNREVIEWED, GATE_TAKEOVER)


@dataclass
class ApprovalPolicy:
    """How gates are answered in this run."""

    operator: str
    environment: str
    production: bool
    preapproved: bool = False
    ask: AskFn | None = None  # None: no terminal
    guard: GuardFn | None = None  # asked before every approval; the runner sets it

    @property
    def confirmation_word(self) -> str:
        """What the human types to approve: the environment's name on production, else 'yes'."""
        return self.environment if self.production else "yes"

    def blocked(self) -> dict[str, Any] | None:
        reason = self.guard() if self.guard is not None else None
        if not reason:
            return None
        return {"approved": False, "who": "jeju-play", "how": f"refused by a guard: {reason}", "when": now_iso()}

    def decide(self, request: dict[str, Any]) -> dict[str, Any] | None:
        blocked = self.blocked()
        if blocked:
            return blocked
        if self.preapproved:
            how = "--yes-i-mean " + self.environment if self.production else "--yes"
            return {"approved": True, "who": self.operator, "how": how, "when": now_iso()}
        if self.ask is None:
            return None
        typed = self.ask(request, self.confirmation_word)
        if typed is None:
            return None
        approved = typed.strip() == self.confirmation_word
        if approved and (blocked := self.blocked()):
            return blocked  # the guard came up while the human was reading the gate
        how = "typed at the terminal" if approved else f"answered {typed.strip()!r} at the terminal"
        return {"approved": approved, "who": self.operator, "how": how, "when": now_iso()}


class GateKeeper:
    """Polled by the run loop: answers new requests and remembers which are pending.

    Once closed (the operator pressed Ctrl-C), every pending request and every new one is refused at once.
    With an inbox (the run's record folder's gates/), a pending gate is listed there and may be answered from
    outside the run (`jeju-play approve`, serve's approval endpoint); guards still hold over that answer.
    """

    def __init__(self, folder: Path, policy: ApprovalPolicy, inbox: Path | None = None):
        self.folder = folder
        self.policy = policy
        self.inbox = inbox
        self._seen: set[str] = set()
        self.pending: dict[str, dict[str, Any]] = {}
        self._closed: str | None = None  # why every gate is refused from now on

    def poll(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Answer what can be answered now; return the (request, answer) pairs decided in this poll."""
        decided: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for path in sorted(self.folder.glob("*.request.json"), key=lambda p: p.stat().st_mtime):
            gate_id = path.name.removesuffix(".request.json")
            if gate_id in self._seen:
                continue
            self._seen.add(gate_id)
            request = json.loads(path.read_text(encoding="utf-8"))
            self.pending[gate_id] = request
            answer = self._refusal() if self._closed else self.policy.decide(request)
            if answer is None:  # nobody could answer yet: it stays pending (the plugin refuses at its timeout)
                if self.inbox is not None:
                    approvals.publish(self.inbox, gate_id, request, self.policy.environment,
                                      self.policy.production)
                continue
            self._decide(gate_id, request, answer, decided)
        if self.inbox is not None:
            self._read_inbox(self.inbox, decided)
        return decided

    def _read_inbox(self, inbox: Path, decided: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        for gate_id, request in list(self.pending.items()):
            if not (self.folder / f"{gate_id}.request.json").exists():  # the gate gave up waiting (its timeout)
                self.pending.pop(gate_id, None)
                approvals.withdraw(inbox, gate_id)
                continue
            given = approvals.take(inbox, gate_id)
            if given is not None:
                blocked = self.policy.blocked() if given.get("approved") else None
                self._decide(gate_id, request, blocked or given, decided)

    def _decide(self, gate_id: str, request: dict[str, Any], answer: dict[str, Any],
                decided: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        self.pending.pop(gate_id, None)
        self._write_answer(gate_id, answer)
        if self.inbox is not None:
            approvals.withdraw(self.inbox, gate_id)
        decided.append((request, answer))

    @property
    def run_id(self) -> str:
        """The run whose record folder holds the inbox ("" without one)."""
        return self.inbox.parent.name if self.inbox is not None else ""

    def withdraw_all(self) -> None:
        """The run ends: no gate of it waits any more."""
        for gate_id in list(self.pending):
            if self.inbox is not None:
                approvals.withdraw(self.inbox, gate_id)

    def close(self, reason: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Refuse every pending request, and every later one, because of `reason`."""
        self._closed = reason
        decided = [(request, self._refusal()) for request in self.pending.values()]
        for gate_id, (_request, answer) in zip(list(self.pending), decided, strict=True):
            self._write_answer(gate_id, answer)
        self.withdraw_all()
        self.pending.clear()
        return decided

    def _refusal(self) -> dict[str, Any]:
        return {"approved": False, "who": self.policy.operator, "how": self._closed, "when": now_iso()}

    def _write_answer(self, gate_id: str, answer: dict[str, Any]) -> None:
        target = self.folder / f"{gate_id}.answer.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(answer), encoding="utf-8")
        os.replace(tmp, target)
