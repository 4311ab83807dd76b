"""op-stack style log lines (geth's logfmt): `t=... lvl=info msg="..." key=value`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

# log(component, line): the integration layer routes each line to the pod's log in the Kubernetes double.
LogSink = Callable[[str, str], None]


def discard(component: str, line: str) -> None:
    """A LogSink that drops everything (the default when nobody listens)."""


def _quote(value: object) -> str:
    text = str(value)
    if text == "" or any(char in text for char in ' "=\t\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def format_line(level: str, msg: str, fields: Mapping[str, object], now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S%z")
    parts = [f"t={stamp}", f"lvl={level}", f"msg={_quote(msg)}"]
    parts += [f"{key}={_quote(value)}" for key, value in fields.items()]
    return " ".join(parts)


class ComponentLog:
    """A logger for one component: `log.info("Sequencer sealed block", block=...)`."""

    def __init__(self, component: str, sink: LogSink) -> None:
        self.component = component
        self.sink = sink

    def emit(self, level: str, msg: str, **fields: object) -> None:
        self.sink(self.component, format_line(level, msg, fields))

    def info(self, msg: str, **fields: object) -> None:
        self.emit("info", msg, **fields)

    def warn(self, msg: str, **fields: object) -> None:
        self.emit("warn", msg, **fields)

    def error(self, msg: str, **fields: object) -> None:
        self.emit("eror", msg, **fields)  # geth's logfmt spells the level "eror"
