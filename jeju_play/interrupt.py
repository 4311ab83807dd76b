"""Ctrl-C during a run, as an event rather than an exception.

While a playbook runs, SIGINT only sets an event: the run loop sees it within one poll, refuses the gate that is
waiting (or being asked at the terminal), cancels ansible-runner and records the run as interrupted. A
KeyboardInterrupt raised wherever the main thread happens to be (inside a lock of the live view, in the loop's
own condition, between a gate being seen and being asked) is what left runs hanging; no code path depends on it.
The terminal prompt reads with select() so that it returns as soon as the event is set.
"""

from __future__ import annotations

import select
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

POLL_SECONDS = 0.05


class Interrupt:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.count = 0

    @property
    def is_set(self) -> bool:
        return self.event.is_set()

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        self.event.set()

    @contextmanager
    def catching(self) -> Iterator[Interrupt]:
        """SIGINT sets the event while the block runs (main thread only; elsewhere nothing is installed)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        _ACTIVE.append(self)
        try:
            yield self
        finally:
            _ACTIVE.remove(self)
            signal.signal(signal.SIGINT, previous)

    def read_line(self) -> str | None:
        """A line typed at the terminal; None when interrupted first (or stdin closed: '')."""
        while not self.event.is_set():
            try:
                ready, _, _ = select.select([sys.stdin], [], [], POLL_SECONDS)
            except (OSError, ValueError):
                return ""
            if ready:
                line = sys.stdin.readline()
                return line.rstrip("\n") if line else ""
        return None


_ACTIVE: list[Interrupt] = []  # the run being watched, if any


def read_line() -> str | None:
    """A line from the terminal; None when the run was interrupted first. Outside a run, a plain input()."""
    if _ACTIVE:
        return _ACTIVE[-1].read_line()
    try:
        return input()
    except EOFError:
        return ""
