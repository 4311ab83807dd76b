"""`jeju-play report ID --kind`: the runbook's messages (INCIDENT REPORT, CRITICAL SECURITY INCIDENT, the status
update, the post-mortem) rendered from reports/<kind>.md.j2 with everything the record knows.

StrictUndefined: a variable the record cannot fill fails the render instead of reaching a message. What only people
know (users affected, financial impact, owners) is a marked field (`[TO FILL: ...]`), never invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jinja2

from jeju_play import catalog as catalog_mod
from jeju_play import incidents, timeline
from jeju_play.errors import BadInput
from jeju_play.paths import PACKAGE_DIR, project_root

KINDS = ("incident", "security", "update", "postmortem")
TO_FILL = "[TO FILL: {}]"


@dataclass(frozen=True)
class Rendered:
    kind: str
    text: str


def _parse(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def duration(start: str | None, end: str | None) -> str:
    begun, ended = _parse(start), _parse(end)
    if begun is None or ended is None:
        return "ongoing"
    seconds = max(0, int((ended - begun).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes or hours else []
    return " ".join([*parts, f"{seconds} s"])


def _duration_words() -> Any:
    """The collection's own duration_words filter (plugins/filter/durations.py): one place for the wording."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("jeju_durations", PACKAGE_DIR.parent / "plugins" / "filter"
                                                  / "durations.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.duration_words


def status(story: timeline.Story) -> str:
    """Where the incident stands, in the runbook's words: Investigating, Identified (a change made), Resolved."""
    return "Resolved" if not story.incident.is_open else "Identified" if story.changes else "Investigating"


def context(story: timeline.Story) -> dict[str, Any]:
    incident = story.incident
    entry = catalog_mod.load(project_root()).get(incident.incident)
    cause = story.cause
    end = incident.closed or (story.runs[-1].summary.get("ended") if story.runs else None)
    times = {e.what: e.time for e in reversed(story.entries)}  # the first of each kind
    gates = [{"description": a.get("description"), "decision": a.get("decision"),
              "who": (a.get("answer") or {}).get("who", "?"), "how": (a.get("answer") or {}).get("how", "?"),
              "when": (a.get("answer") or {}).get("when", "")} for run in story.runs for a in run.approvals]
    return {
        "incident": {"id": incident.id, "name": incident.incident, "environment": incident.environment,
                     "severity": incident.severity, "opened": incident.opened, "closed": incident.closed,
                     "open": incident.is_open, "close_reason": incident.close_reason, "origin": incident.origin},
        "entry": entry.as_dict(),
        "status": status(story),
        "duration": duration(incident.opened, end),
        "cause_text": cause.get("cause_text") or "not identified",
        "evidence": story.evidence,
        "changes": story.changes,
        "proof": story.proof,
        "drift": story.drift,
        "gates": gates,
        "entries": story.entries,
        "sent": story.sent,
        "times": times,
        "runs": [{"id": r.run_id, "outcome": r.summary.get("outcome"), "check_mode": r.check_mode,
                  "who": r.summary.get("who")} for r in story.runs],
        "to_fill": TO_FILL.format,
    }


def render(incident_id: str, kind: str) -> str:
    if kind not in KINDS:
        raise BadInput(f"--kind {kind}: choose one of {', '.join(KINDS)}.")
    story = timeline.story(incidents.load(incident_id))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(project_root() / "reports")),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True,
                             autoescape=False)  # noqa: S701 - Markdown and chat text, not HTML
    env.filters["duration_words"] = _duration_words()
    env.filters["clock"] = lambda stamp: (str(stamp)[:19].replace("T", " ") + " UTC") if stamp else "unknown"
    try:
        return env.get_template(f"{kind}.md.j2").render(context(story))
    except jinja2.UndefinedError as exc:  # a template asks for what the record does not hold: a bug, said plainly
        raise BadInput(f"reports/{kind}.md.j2 uses a value the record does not have ({exc.message}); "
                       "fix the template.") from exc
