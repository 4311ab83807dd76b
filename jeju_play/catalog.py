"""The incident catalog (catalog.yml): load it, look incidents up by name or alias, and check it."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jeju_play import durations, yamlio
from jeju_play.errors import InvalidCatalog, UnknownIncident
from jeju_play.runbook import find_section

SEVERITIES = ("P0", "P1", "P2", "P3")
DEFAULT_COOLDOWN = "15m"
ESCALATION_LEVELS = (1, 2, 3, 4)
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_REQUIRED = ("name", "title", "severity", "response_time", "escalation", "automated", "playbook", "summary",
             "runbook", "impact")
# What a playbook is told about its incident (the extra var jeju_incident).
_FOR_PLAYBOOKS = ("name", "title", "severity", "response_time", "escalation", "update_every", "runbook", "impact",
                  "takes_over_lock", "allowed_while_frozen", "status_components", "public_title",
                  "resolved_by_humans")


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
    impact: str = ""  # what users see while it lasts (the incident report's "Impact:")
    aliases: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
    takes_over_lock: bool = False  # takes the remediation lock from a live holder instead of waiting (breach)
    allowed_while_frozen: bool = False  # runs while a security freeze stands (it restarts nothing)
    daily_checks: tuple[str, ...] = ()  # the daily checks whose failure this incident fixes
    routine: bool = False  # a routine procedure (daily checks, handoff): nothing is broken; drilled on a healthy lab
    log_signatures: tuple[str, ...] = ()  # log texts (case-insensitive) of errors this incident fixes
    status_components: tuple[str, ...] = ()  # the public status page's components it affects
    public_title: str = ""  # its name on the public status page (default: the title)
    resolved_by_humans: bool = False  # a verified run contains it; it stays open until a human closes it
    cooldown: str = DEFAULT_COOLDOWN  # after a run ends, a firing alert of it joins that run instead of a new one

    @property
    def response_seconds(self) -> int | None:
        """The response time in seconds ("< 5 minutes" -> 300); None when it is not a duration."""
        return durations.response_seconds(self.response_time)

    @property
    def cooldown_seconds(self) -> int:
        return durations.seconds(self.cooldown) or 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "title": self.title, "severity": self.severity,
            "response_time": self.response_time, "escalation": self.escalation,
            "update_every": self.update_every, "automated": self.automated, "playbook": self.playbook,
            "aliases": list(self.aliases), "alerts": list(self.alerts), "summary": self.summary,
            "runbook": self.runbook, "impact": self.impact, "takes_over_lock": self.takes_over_lock,
            "allowed_while_frozen": self.allowed_while_frozen, "daily_checks": list(self.daily_checks),
            "routine": self.routine, "log_signatures": list(self.log_signatures),
            "status_components": list(self.status_components), "public_title": self.public_title or self.title,
            "resolved_by_humans": self.resolved_by_humans, "cooldown": self.cooldown,
        }

    def for_playbook(self) -> dict[str, Any]:
        """The catalog entry as playbooks see it (jeju_incident): title, impact and cadence come from here."""
        data = self.as_dict()
        return {key: data[key] for key in _FOR_PLAYBOOKS}


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

    def for_playbooks(self) -> list[dict[str, Any]]:
        """Every incident in brief (jeju_catalog), for the routine procedures that point at the others."""
        return [{"name": i.name, "title": i.title, "severity": i.severity, "routine": i.routine,
                 "automated": i.automated, "daily_checks": list(i.daily_checks),
                 "log_signatures": list(i.log_signatures)} for i in self.incidents]

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
        impact=str(entry["impact"]), aliases=tuple(entry.get("aliases") or ()),
        alerts=tuple(entry.get("alerts") or ()), takes_over_lock=bool(entry.get("takes_over_lock", False)),
        allowed_while_frozen=bool(entry.get("allowed_while_frozen", False)),
        daily_checks=tuple(entry.get("daily_checks") or ()), routine=bool(entry.get("routine", False)),
        log_signatures=tuple(entry.get("log_signatures") or ()),
        status_components=tuple(entry.get("status_components") or ()),
        public_title=str(entry.get("public_title") or ""),
        resolved_by_humans=bool(entry.get("resolved_by_humans", False)),
        cooldown=str(entry.get("cooldown") or DEFAULT_COOLDOWN),
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
    problems += _log_signature_problems(catalog)
    listed = {incident.playbook for incident in catalog.incidents}
    for playbook in sorted((catalog.root / "playbooks").glob("*.yml")):
        relative = playbook.relative_to(catalog.root).as_posix()
        if relative not in listed:
            problems.append(f"{relative} has no catalog entry: add one to catalog.yml or remove the playbook.")
    return problems


def _log_signature_problems(catalog: Catalog) -> list[str]:
    """Each log signature is a non-empty text that one incident alone claims (elevated-errors names it)."""
    problems: list[str] = []
    owner: dict[str, str] = {}
    for incident in catalog.incidents:
        for signature in incident.log_signatures:
            text = signature.strip().lower() if isinstance(signature, str) else ""
            if not text:
                problems.append(f"{incident.name}: log_signatures holds {signature!r}; each must be a non-empty text.")
            elif owner.setdefault(text, incident.name) != incident.name:
                problems.append(f"log signature '{signature}' is claimed by both {owner[text]} and {incident.name}: "
                                "keep it on the one incident that fixes it.")
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
    if incident.routine and incident.update_every:
        problems.append(f"{name}: a routine procedure sends no status updates; set update_every to null.")
    if incident.severity in ("P0", "P1") and not incident.update_every:
        problems.append(f"{name}: {incident.severity} incidents need update_every (runbook cadence).")
    if incident.severity in ("P0", "P1") and not incident.routine and not incident.status_components:
        problems.append(f"{name}: {incident.severity} incidents name their status_components (the public status page).")
    if durations.seconds(incident.cooldown) is None:
        problems.append(f"{name}: cooldown {incident.cooldown!r} is not a duration such as 15m or 90s.")
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
