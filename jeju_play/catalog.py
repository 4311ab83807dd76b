"""The incident catalog (catalog.yml): load it, look incidents up by name or alias, and check it."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jeju_play import yamlio
from jeju_play.errors import InvalidCatalog, UnknownIncident
from jeju_play.runbook import find_section

SEVERITIES = ("P0", "P1", "P2", "P3")
ESCALATION_LEVELS = (1, 2, 3, 4)
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_REQUIRED = ("name", "title", "severity", "response_time", "escalation", "automated", "playbook", "summary",
             "runbook")


@dataclass(frozen=True)
class Incident:
    name: str
    title: str
    severity: str
    response_time: str
    escalation: int
    update_every: str | None
    automated: bool
    playbook: str
    summary: str
    runbook: str
    aliases: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()

    @property
    def routine(self) -> bool:
        """A routine procedure rather than an incident: no status updates to send (update_every null)."""
        return self.update_every is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "severity": self.severity,
            "response_time": self.response_time, "escalation": self.escalation,
            "update_every": self.update_every, "automated": self.automated, "playbook": self.playbook,
            "aliases": list(self.aliases), "alerts": list(self.alerts), "summary": self.summary,
            "runbook": self.runbook,
        }


@dataclass
class Catalog:
    root: Path
    incidents: list[Incident] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.root / "catalog.yml"

    @property
    def runbook_path(self) -> Path:
        return self.root / "docs" / "runbook.md"

    def names(self) -> list[str]:
        return [incident.name for incident in self.incidents]

    def get(self, name_or_alias: str) -> Incident:
        for incident in self.incidents:
            if name_or_alias == incident.name or name_or_alias in incident.aliases:
                return incident
        known = self.names() + [alias for incident in self.incidents for alias in incident.aliases]
        close = difflib.get_close_matches(name_or_alias, known, n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownIncident(
            f"Unknown incident '{name_or_alias}'.{hint} Run `jeju-play list` to see the incidents."
        )

    def by_alert(self, alert_name: str) -> Incident | None:
        for incident in self.incidents:
            if alert_name in incident.alerts:
                return incident
        return None


def load(root: Path) -> Catalog:
    path = root / "catalog.yml"
    try:
        data = yamlio.load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidCatalog(f"No catalog at {path}: is JEJU_PLAY_HOME pointing at the ops repo?") from exc
    except yamlio.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise InvalidCatalog(f"{path}{where} is not valid YAML: fix it (yamllint {path}).") from exc
    entries = data.get("incidents") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InvalidCatalog(f"{path} must hold a list under `incidents:`.")
    return Catalog(root, [_incident(path, entry) for entry in entries])


def _incident(path: Path, entry: Any) -> Incident:
    if not isinstance(entry, dict):
        raise InvalidCatalog(f"{path}: every entry under `incidents:` must be a mapping, got {entry!r}.")
    label = entry.get("name", "<unnamed>")
    missing = [key for key in _REQUIRED if key not in entry]
    if missing:
        raise InvalidCatalog(f"{path}: incident '{label}' lacks {', '.join(missing)}.")
    return Incident(
        name=str(entry["name"]), title=str(entry["title"]), severity=str(entry["severity"]),
        response_time=str(entry["response_time"]), escalation=int(entry["escalation"]),
        update_every=entry.get("update_every"), automated=bool(entry["automated"]),
        playbook=str(entry["playbook"]), summary=str(entry["summary"]), runbook=str(entry["runbook"]),
        aliases=tuple(entry.get("aliases") or ()), alerts=tuple(entry.get("alerts") or ()),
    )


def check(catalog: Catalog, reserved: set[str]) -> list[str]:
    """Every problem with the catalog, as sentences; empty when it is sound."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for incident in catalog.incidents:
        problems += _check_entry(catalog, incident, reserved)
        for name in (incident.name, *incident.aliases):
            if name in seen:
                problems.append(f"'{name}' names both {seen[name]} and {incident.name}.")
            seen[name] = incident.name
    listed = {incident.playbook for incident in catalog.incidents}
    for playbook in sorted((catalog.root / "playbooks").glob("*.yml")):
        relative = playbook.relative_to(catalog.root).as_posix()
        if relative not in listed:
            problems.append(f"{relative} has no catalog entry: add one to catalog.yml or remove the playbook.")
    return problems


def _check_entry(catalog: Catalog, incident: Incident, reserved: set[str]) -> list[str]:
    problems = []
    name = incident.name
    if not _NAME.match(name):
        problems.append(f"{name}: names are lower-case words joined by '-'.")
    for word in (name, *incident.aliases):
        if word in reserved:
            problems.append(f"{name}: '{word}' collides with the command `jeju-play {word}`.")
    if incident.severity not in SEVERITIES:
        problems.append(f"{name}: severity {incident.severity} is not one of {', '.join(SEVERITIES)}.")
    if incident.escalation not in ESCALATION_LEVELS:
        problems.append(f"{name}: escalation {incident.escalation} is not a runbook level (1-4).")
    if incident.severity in ("P0", "P1") and not incident.update_every:
        problems.append(f"{name}: {incident.severity} incidents need update_every (runbook cadence).")
    playbook = catalog.root / incident.playbook
    if incident.automated and not playbook.is_file():
        problems.append(f"{name}: automated but {incident.playbook} does not exist.")
    if not incident.automated and playbook.exists():
        problems.append(f"{name}: {incident.playbook} exists; mark the entry `automated: true`.")
    if not catalog.runbook_path.is_file():
        problems.append(f"{catalog.runbook_path} is missing.")
    elif find_section(catalog.runbook_path, incident.runbook) is None:
        problems.append(f"{name}: runbook section '{incident.runbook}' is not a heading of docs/runbook.md.")
    return problems
