"""What the user sees while a playbook runs: the phases, the cause with its evidence, each change and gate, and
a line for each task that read or changed something. Bookkeeping and skipped tasks are shown with -v only; the
record keeps everything. On a terminal the task that is running shows on one transient line with a spinner.

Lines fit an 80-column terminal: long values wrap under their label, never off the edge.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.padding import Padding
from rich.panel import Panel
from rich.spinner import Spinner
from rich.text import Text

STATUS_STYLE = {"ok": "green", "changed": "yellow", "failed": "bold red", "skipped": "dim",
                "ignored": "dim red", "unreachable": "bold red", "running": "cyan"}
PHASE_TITLES = {"preflight": "Preflight", "diagnose": "Diagnose", "decide": "Decide", "remediate": "Remediate",
                "verify": "Verify", "record": "Record", "other": "Run"}
# Tasks that only move facts around or write the record: shown with -v.
BOOKKEEPING = frozenset({
    "set_fact", "include_tasks", "import_tasks", "include_role", "import_role", "meta", "file", "copy", "template",
    "stat", "find", "validate_argument_spec", "async_status", "assert", "gate", "escalate", "fail", "record",
})
EVIDENCE_LINES = 12  # evidence lines shown under the cause; the record has them all
INDENT = "    "


def short_action(action: str) -> str:
    return action.rsplit(".", maxsplit=1)[-1]


def change_lines(change: Any) -> list[str]:
    """A gate's change as a person reads it: the command first, then each field on its own line."""
    if not isinstance(change, dict):
        return [str(change)] if change else []
    lines = []
    for key in ("kubectl", "command", "cast", "call"):
        if change.get(key):
            lines.append(f"$ {' '.join(str(change[key]).split())}" if key != "call" else str(change[key]))
    for key, value in change.items():
        if key in ("kubectl", "command", "cast", "call") or value in (None, "", [], {}):
            continue
        if isinstance(value, dict):
            lines += [f"{key}.{k}: {v}" for k, v in value.items()]
        elif isinstance(value, list):
            lines.append(f"{key}: {', '.join(str(v) for v in value)}")
        else:
            lines.append(f"{key}: {value}")
    return lines


def evidence_lines(evidence: Any) -> list[str]:
    if not isinstance(evidence, dict):
        return [str(evidence)] if evidence else []
    lines = []
    for key, value in evidence.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, dict):
            inner = "; ".join(f"{k} {_brief(v)}" for k, v in value.items())
            lines.append(f"{key}: {inner}")
        elif isinstance(value, list):
            lines.append(f"{key}: {'; '.join(_brief(v) for v in value)}")
        else:
            lines.append(f"{key}: {' '.join(str(value).split())}")
    return lines


def _brief(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, "", False))
    return " ".join(str(value).split())


@dataclass
class TaskRow:
    phase: str
    name: str
    started: float
    status: str = "running"
    duration: float | None = None


@dataclass
class RunView:
    """Fed by the runner's event sink; prints lines (and a live spinner line on a terminal)."""

    console: Console
    quiet: bool = False
    verbosity: int = 0
    scrub: Callable[[str], str] = str  # hides the environment's secret values (the runner sets it)
    rows: dict[str, TaskRow] = field(default_factory=dict)
    _phase: str = ""
    _header: Text | None = None  # the phase's header, printed before the first line under it
    _live: Live | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self, title: str) -> None:
        if self.quiet:
            return
        self.console.print(Text(title, style="bold"), soft_wrap=True)
        if self.console.is_terminal:
            self._live = Live(get_renderable=self._running, console=self.console, refresh_per_second=8,
                              transient=True, redirect_stdout=False, redirect_stderr=False)
            self._live.start()

    def stop(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No live line while a human is asked something."""
        live, self._live = self._live, None
        if live is not None:
            live.stop()
        try:
            yield
        finally:
            if live is not None:
                self._live = live
                live.start()

    # -- what happens ------------------------------------------------------------------------------------------
    def phase(self, phase: str, description: str) -> None:
        if self.quiet or phase == self._phase:
            return
        self._phase = phase
        text = Text(PHASE_TITLES.get(phase, phase.title()), style="bold magenta")
        if description:
            text.append(f"  {description}", style="magenta")
        self._header = text

    def task_started(self, key: str, phase: str, name: str) -> None:
        self.rows[key] = TaskRow(phase, name, time.monotonic())

    def task_finished(self, key: str, status: str, duration: float | None, action: str, message: str = "") -> None:
        row = self.rows.pop(key, None)
        if row is None or self.quiet:
            return
        row.status, row.duration = status, duration if duration is not None else time.monotonic() - row.started
        action = short_action(action)
        shown = status in ("failed", "unreachable") or (status in ("ok", "changed") and (
            action not in BOOKKEEPING or (action == "debug" and message)))
        if self.verbosity == 0 and not shown:
            return
        text = Text(INDENT)
        text.append(f"{status:<8}", style=STATUS_STYLE.get(status, ""))
        text.append(f"{row.duration or 0:5.1f}s  {row.name}")
        self._print(text)
        if (message and status in ("failed", "unreachable")) or (message and status == "ignored" and self.verbosity):
            self._say(message, 2, "red")
        elif message and action == "debug":
            self._say(message, 2)

    def cause(self, diagnosis: dict[str, Any]) -> None:
        if self.quiet or not isinstance(diagnosis, dict):
            return
        style = "bold green" if diagnosis.get("healthy") else "bold yellow"
        text = Text(f"{INDENT}cause   ", style=style)
        text.append(f"{diagnosis.get('cause', '?')}: {diagnosis.get('cause_text', '')}", style=style)
        self._print(text)
        lines = evidence_lines(diagnosis.get("evidence"))
        limit = len(lines) if self.verbosity else EVIDENCE_LINES
        for line in lines[:limit]:
            self._say(line, 3, "dim")
        if len(lines) > limit:
            self._say(f"... {len(lines) - limit} more in the record (diagnosis.json)", 3, "dim")

    def gate(self, entry: dict[str, Any]) -> None:
        if self.quiet:
            return
        decision = str(entry.get("decision", ""))
        style = {"approved": "bold green", "refused": "bold red"}.get(decision, "bold yellow")
        text = Text(f"{INDENT}GATE    ", style=style)
        text.append(" ".join(str(entry.get("description", "")).split()))
        self._print(text)
        for line in change_lines(entry.get("change")):
            self._say(line, 3)
        answer = entry.get("answer") or {}
        said = f"{decision} by {answer.get('who')} ({answer.get('how')})" if answer else decision
        self._say(said, 3, style)

    def note(self, message: str, style: str = "") -> None:
        if not self.quiet:
            self._print(Text(message, style=style))

    def show_gate(self, request: dict[str, Any]) -> None:
        body = [Text(self.scrub(" ".join(str(request.get("description", "")).split())), style="bold")]
        if request.get("target"):
            body.append(Text(self.scrub(f"target: {request['target']}   kind: {request.get('kind')}")))
        body += [Text(self.scrub(line)) for line in change_lines(request.get("change"))]
        self.console.print(Panel(Group(*body), title="Approval needed", border_style="yellow"))

    # -- rendering ---------------------------------------------------------------------------------------------
    def _print(self, renderable: RenderableType) -> None:
        # A terminal wraps to its width; a pipe or a log gets one line per message (grep and copy-paste work).
        header, self._header = self._header, None
        for item in ([header] if header is not None else []) + [renderable]:
            self.console.print(self._scrubbed(item), highlight=False, soft_wrap=not self.console.is_terminal)

    def _scrubbed(self, item: RenderableType) -> RenderableType:
        if isinstance(item, Text):
            return Text(self.scrub(item.plain), style=item.style)
        if isinstance(item, Padding) and isinstance(item.renderable, Text):
            inner = item.renderable
            return Padding(Text(self.scrub(inner.plain), style=inner.style), (0, 0, 0, item.left))
        return item

    def _say(self, message: str, level: int, style: str = "") -> None:
        """Each line of `message` indented by `level` steps; on a terminal a long line wraps under its start."""
        for line in str(message).splitlines() or [""]:
            if self.console.is_terminal:
                self._print(Padding(Text(line, style=style), (0, 0, 0, len(INDENT) * level)))
            else:
                self._print(Text(INDENT * level + line, style=style))

    def _running(self) -> RenderableType:
        running = [r for r in self.rows.values() if r.status == "running"]
        if not running:
            return Text("")
        row = running[-1]
        return Spinner("dots", text=Text(f"{row.name}  {time.monotonic() - row.started:.0f}s", style="cyan"))

