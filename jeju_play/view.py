"""What the user sees while a playbook runs: a live table of tasks on a terminal, plain lines elsewhere."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.pretty import Pretty
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

STATUS_STYLE = {"ok": "green", "changed": "yellow", "failed": "bold red", "skipped": "dim",
                "ignored": "dim red", "unreachable": "bold red", "running": "cyan"}


@dataclass
class TaskRow:
    phase: str
    name: str
    host: str
    started: float
    status: str = "running"
    duration: float | None = None
    message: str = ""


@dataclass
class RunView:
    """Fed with TaskRow updates by the runner; renders them live (terminal) or as lines (pipes, CI)."""

    console: Console
    quiet: bool = False
    rows: dict[str, TaskRow] = field(default_factory=dict)
    _live: Live | None = None

    def start(self, title: str) -> None:
        if self.quiet:
            return
        self.console.print(Text(title, style="bold"))
        if self.console.is_terminal:
            self._live = Live(get_renderable=self._render, console=self.console, refresh_per_second=8,
                              transient=False)
            self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    @contextmanager
    def paused(self) -> Iterator[None]:
        live = self._live
        if live is not None:
            live.stop()
        try:
            yield
        finally:
            if live is not None:
                live.start()

    def task_started(self, key: str, phase: str, name: str, host: str) -> None:
        self.rows[key] = TaskRow(phase, name, host, time.monotonic())

    def task_finished(self, key: str, status: str, duration: float | None, message: str = "") -> None:
        row = self.rows.get(key)
        if row is None:
            return
        row.status = status
        row.duration = duration if duration is not None else time.monotonic() - row.started
        row.message = message
        if self._live is None and not self.quiet:
            self.console.print(self._line(row), highlight=False)

    def forget(self, key: str) -> None:
        self.rows.pop(key, None)

    def note(self, message: str, style: str = "") -> None:
        if not self.quiet:
            with self.paused():
                self.console.print(Text(message, style=style))

    def show_gate(self, request: dict[str, Any]) -> None:
        body = Group(Text(request.get("description", ""), style="bold"),
                     Text(f"target: {request.get('target') or '-'}   kind: {request.get('kind')}"),
                     Pretty(request.get("change", {})))
        self.console.print(Panel(body, title="Approval needed", border_style="yellow"))

    def _line(self, row: TaskRow) -> Text:
        text = Text(f"[{row.phase}] ")
        text.append(f"{row.status:<8}", style=STATUS_STYLE.get(row.status, ""))
        text.append(f" {row.duration or 0:6.2f}s  {row.name}")
        if row.message and row.status in ("failed", "unreachable", "ignored"):
            text.append(f"\n           {row.message}", style="red")
        elif row.message and row.status == "ok":  # what a debug task says to the user
            text.append("\n" + "\n".join("           " + line for line in row.message.splitlines()))
        return text

    def _render(self) -> RenderableType:
        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        table.add_column("phase")
        table.add_column("status")
        table.add_column("time", justify="right")
        table.add_column("task")
        for row in list(self.rows.values())[-30:]:
            status: RenderableType
            if row.status == "running":
                status = Spinner("dots", text=Text("running", style="cyan"))
                elapsed = time.monotonic() - row.started
            else:
                status = Text(row.status, style=STATUS_STYLE.get(row.status, ""))
                elapsed = row.duration or 0.0
            task = Text(row.name)
            if row.message and row.status in ("failed", "unreachable"):
                task.append(f"\n{row.message}", style="red")
            elif row.message and row.status == "ok":
                task.append(f"\n{row.message}")
            table.add_row(row.phase, status, f"{elapsed:.1f}s", task)
        return table
