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

from jeju_play.record import now_iso

# ask(request, expected_word) -> the line the human typed, or None when nobody can be asked
AskFn = Callable[[dict[str, Any], str], str | None]
# standing guard: () -> why no gate may be approved now (a security freeze set during the run), or None
GuardFn = Callable[[], str | None]


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

    def _blocked(self) -> dict[str, Any] | None:
        reason = self.guard() if self.guard is not None else None
        if not reason:
            return None
        return {"approved": False, "who": "jeju-play", "how": f"refused by a guard: {reason}", "when": now_iso()}

    def decide(self, request: dict[str, Any]) -> dict[str, Any] | None:
        blocked = self._blocked()
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
        if approved and (blocked := self._blocked()):
            return blocked  # the guard came up while the human was reading the gate
        how = "typed at the terminal" if approved else f"answered {typed.strip()!r} at the terminal"
        return {"approved": approved, "who": self.operator, "how": how, "when": now_iso()}


class GateKeeper:
    """Polled by the run loop: answers new requests and remembers which are pending."""

    def __init__(self, folder: Path, policy: ApprovalPolicy):
        self.folder = folder
        self.policy = policy
        self._seen: set[str] = set()
        self.pending: dict[str, dict[str, Any]] = {}

    def poll(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Answer what can be answered now; return the (request, answer) pairs decided in this poll."""
        decided = []
        for path in sorted(self.folder.glob("*.request.json"), key=lambda p: p.stat().st_mtime):
            gate_id = path.name.removesuffix(".request.json")
            if gate_id in self._seen:
                continue
            self._seen.add(gate_id)
            request = json.loads(path.read_text(encoding="utf-8"))
            answer = self.policy.decide(request)
            if answer is None:
                self.pending[gate_id] = request
                continue
            self._write_answer(gate_id, answer)
            decided.append((request, answer))
        return decided

    def _write_answer(self, gate_id: str, answer: dict[str, Any]) -> None:
        target = self.folder / f"{gate_id}.answer.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(answer), encoding="utf-8")
        os.replace(tmp, target)
