"""What serve does with a notification: which alerts start a run, which join one, which are only recorded.

Storm control, in order, for each (incident, environment) a notification's alerts map to:
- an alert no catalog incident names, without an environment label, or for an environment serve does not serve
  is recorded and ignored;
- resolved alerts are recorded on the run they belong to and never start one;
- firing alerts join the incident's run on that environment while it runs, or if it ended less than the
  incident's cooldown (catalog.yml) ago;
- while serve is paused, or the environment's circuit breaker is open (jeju_serve.breaker_runs started within
  jeju_serve.breaker_window), they are recorded and start nothing;
- while another incident's run runs on that environment (its remediation lock would refuse a second run), they
  wait in a queue, and start their run once the environment is free, most severe first; resolved before that,
  they leave the queue and nothing starts;
- otherwise they start one run, all of them together (one Alertmanager group is one run).

The state (runs started, queued, paused) is kept on disk, so a restarted serve knows what runs and what cooled down.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jeju_play import audit, durations
from jeju_play.alerts import Alert, Notification
from jeju_play.catalog import Catalog, Incident
from jeju_play.errors import BadInput
from jeju_play.record import new_run_id, now_iso

STATE_FILE = "state.json"
NOTIFICATIONS_FILE = "notifications.jsonl"
RUN_NOTES_FILE = "notifications.jsonl"  # in the run's own folder: the alerts that joined it, resolved ones
KEEP_ENDED_RUNS = 200
DIED = "died without a verdict"  # its process ended before the run recorded an outcome


@dataclass(frozen=True)
class Served:
    """One environment serve acts for, with its tokens and breaker."""

    name: str
    production: bool
    webhook_token: str
    approval_token: str | None
    breaker_runs: int
    breaker_window_seconds: int

    @classmethod
    def from_variables(cls, name: str, production: bool, variables: dict[str, Any]) -> Served:
        settings = variables.get("jeju_serve") or {}
        return cls(name=name, production=production,
                   webhook_token=str(variables.get("vault_serve_webhook_token") or ""),
                   approval_token=str(variables.get("vault_serve_approval_token") or "") or None,
                   breaker_runs=int(settings.get("breaker_runs", 5)),
                   breaker_window_seconds=durations.seconds(str(settings.get("breaker_window", "1h"))) or 3600)


@dataclass
class ServedRun:
    run_id: str
    incident: str
    environment: str
    started: float
    pid: int | None = None
    ended: float | None = None
    exit_code: int | None = None
    outcome: str = "running"
    fingerprints: list[str] = field(default_factory=list)
    unflushed: list[dict[str, Any]] = field(default_factory=list)  # notes for the run's folder, once it exists

    @property
    def running(self) -> bool:
        return self.ended is None

    def brief(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("unflushed")
        return data


@dataclass
class Decision:
    action: str  # start, join, queue, record, ignore, refuse
    reason: str
    alerts: list[str]  # alertname/fingerprint
    incident: str | None = None
    environment: str | None = None
    run_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


# launch(run, alerts) -> pid: start the run's process (serve: `jeju-play <incident> -i <env>` in the background)
Launcher = Callable[[ServedRun, list[Alert]], int]
# alive(run) -> whether its process still runs
Liveness = Callable[[ServedRun], bool]


class ServeState:
    """Runs serve started and whether it is paused, in <folder>/state.json (rewritten whole on each change)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.runs: dict[str, ServedRun] = {}
        self.queued: dict[str, dict[str, Any]] = {}  # "incident environment" -> incident, environment, since, alerts
        self.paused: dict[str, Any] | None = None
        path = folder / STATE_FILE
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self.runs = {r["run_id"]: ServedRun(**r) for r in data.get("runs", [])}
            except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
                raise BadInput(f"serve's state {path} is unreadable ({exc}): move it aside to start afresh "
                               "(runs it started stay in the record).") from exc
            self.paused = data.get("paused")
            self.queued = dict(data.get("queued") or {})

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        ended = sorted((r for r in self.runs.values() if not r.running), key=lambda r: r.ended or 0)
        for old in ended[:-KEEP_ENDED_RUNS]:
            del self.runs[old.run_id]
        body = {"paused": self.paused, "queued": self.queued, "runs": [asdict(r) for r in self.runs.values()]}
        audit.atomic_write(self.folder / STATE_FILE, json.dumps(body, indent=1) + "\n")

    def log(self, entry: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        audit.append_line(self.folder / NOTIFICATIONS_FILE, json.dumps(entry, sort_keys=True))


class Receiver:
    """Decides each notification under one lock; starts runs through `launch`."""

    def __init__(self, catalog: Catalog, served: dict[str, Served], state: ServeState, runs_base: Path,
                 launch: Launcher, alive: Liveness, clock: Callable[[], float] = time.time):
        self.catalog = catalog
        self.served = served
        self.state = state
        self.runs_base = runs_base
        self.launch = launch
        self.alive = alive
        self.clock = clock
        self.lock = threading.Lock()

    # -- notifications -------------------------------------------------------------------------------------------
    def receive(self, notification: Notification, allowed: set[str]) -> list[Decision]:
        """Decide every alert of `notification`; `allowed` are the environments its token may act for."""
        with self.lock:
            self._reap()
            groups: dict[tuple[str, str], list[Alert]] = {}
            decisions: list[Decision] = []
            for alert in notification.alerts:
                ignored = self._ignored(alert, allowed)
                if ignored:
                    decisions.append(Decision("ignore", ignored, [_label(alert)]))
                    continue
                incident = self.catalog.by_alert(alert.name)
                assert incident is not None  # _ignored checked it
                groups.setdefault((incident.name, alert.environment), []).append(alert)
            for (name, environment), alerts in groups.items():
                decisions.append(self._decide(self.catalog.get(name), environment, alerts))
            self.state.log({"time": now_iso(), "groupKey": notification.group_key, "status": notification.status,
                            "receiver": notification.receiver, "alerts": [a.brief() for a in notification.alerts],
                            "decisions": [d.as_dict() for d in decisions]})
            self._flush()
            self.state.save()
            return decisions

    def _ignored(self, alert: Alert, allowed: set[str]) -> str | None:
        if self.catalog.by_alert(alert.name) is None:
            return f"no incident in catalog.yml has the alert {alert.name}"
        if not alert.environment:
            return "no `environment` label: the rule's labels must name the environment"
        if alert.environment not in self.served:
            return f"environment {alert.environment} is not served here (serve -i {' -i '.join(self.served)})"
        if alert.environment not in allowed:
            return f"the webhook's token is not {alert.environment}'s"
        return None

    def _decide(self, incident: Incident, environment: str, alerts: list[Alert]) -> Decision:
        firing = [a for a in alerts if a.status == "firing"]
        names = [_label(a) for a in alerts]
        current = self._current(incident, environment)
        key = f"{incident.name} {environment}"
        if key in self.state.queued:
            return self._queue(incident, environment, alerts, names)
        if not firing:
            if current is None:
                return Decision("record", "resolved, and no run of it to record it on", names, incident.name,
                                environment)
            self._note(current, "resolved", alerts)
            return Decision("record", "resolved: recorded on its run", names, incident.name, environment,
                            current.run_id)
        if current is not None:
            self._note(current, "joined", alerts)
            state = "runs" if current.running else f"ended {self.clock() - (current.ended or 0):.0f} s ago"
            return Decision("join", f"joined run {current.run_id} ({state}; cooldown {incident.cooldown})", names,
                            incident.name, environment, current.run_id)
        if self.state.paused:
            return Decision("refuse", f"serve is paused ({self.state.paused.get('reason')}): nothing started",
                            names, incident.name, environment)
        tripped = self._breaker(environment)
        if tripped:
            return Decision("refuse", tripped, names, incident.name, environment)
        if self._busy(environment):
            return self._queue(incident, environment, alerts, names)
        return self._start(incident, environment, alerts, names)

    def _busy(self, environment: str) -> ServedRun | None:
        """The run serve started that runs on `environment` now, if any."""
        return next((r for r in self.state.runs.values() if r.running and r.environment == environment), None)

    def _queue(self, incident: Incident, environment: str, alerts: list[Alert], names: list[str]) -> Decision:
        """Alerts of an incident that waits for its environment: firing ones join the queue, resolved ones leave."""
        key = f"{incident.name} {environment}"
        entry = self.state.queued.setdefault(key, {"incident": incident.name, "environment": environment,
                                                   "since": self.clock(), "alerts": []})
        resolved = {a.fingerprint for a in alerts if a.status == "resolved"}
        kept = [a for a in entry["alerts"] if a["fingerprint"] not in resolved]
        known = {a["fingerprint"] for a in kept}
        entry["alerts"] = kept + [a.brief() for a in alerts if a.status == "firing" and a.fingerprint not in known]
        if not entry["alerts"]:
            del self.state.queued[key]
            return Decision("record", "resolved while it waited: it leaves the queue, nothing starts", names,
                            incident.name, environment)
        busy = self._busy(environment)
        why = f"run {busy.run_id} ({busy.incident})" if busy else "its turn"
        return Decision("queue", f"waits for {why} on {environment} to end", names, incident.name, environment)

    def _start_queued(self) -> list[Decision]:
        """Each environment that is free starts its most severe queued incident (then the longest waiting)."""
        started = []
        entries = sorted(self.state.queued.items(),
                         key=lambda kv: (self.catalog.get(kv[1]["incident"]).severity, kv[1]["since"]))
        for key, entry in entries:
            environment = entry["environment"]
            if self._busy(environment) or self.state.paused or self._breaker(environment):
                continue
            del self.state.queued[key]
            alerts = [_from_brief(a) for a in entry["alerts"]]
            started.append(self._start(self.catalog.get(entry["incident"]), environment, alerts,
                                       [_label(a) for a in alerts]))
        return started

    def _start(self, incident: Incident, environment: str, alerts: list[Alert], names: list[str]) -> Decision:
        run = ServedRun(run_id=new_run_id(incident.name), incident=incident.name, environment=environment,
                        started=self.clock(), fingerprints=[a.fingerprint for a in alerts])
        self.state.runs[run.run_id] = run
        try:
            run.pid = self.launch(run, alerts)
        except OSError as exc:
            run.ended, run.outcome, run.exit_code = self.clock(), f"could not start: {exc}", 1
            return Decision("refuse", f"the run could not start: {exc}", names, incident.name, environment)
        return Decision("start", f"started run {run.run_id}", names, incident.name, environment, run.run_id)

    def _current(self, incident: Incident, environment: str) -> ServedRun | None:
        """Its run on that environment that still runs, else the latest that ended within the cooldown."""
        mine = [r for r in self.state.runs.values() if r.incident == incident.name and r.environment == environment]
        running = [r for r in mine if r.running]
        if running:
            return max(running, key=lambda r: r.started)
        # a run that died without a verdict fixed nothing: the next alert starts another (the breaker still counts)
        cooled = [r for r in mine if (r.ended or 0) > self.clock() - incident.cooldown_seconds and r.outcome != DIED]
        return max(cooled, key=lambda r: r.ended or 0) if cooled else None

    def _breaker(self, environment: str) -> str | None:
        served = self.served[environment]
        since = self.clock() - served.breaker_window_seconds
        started = [r for r in self.state.runs.values() if r.environment == environment and r.started > since]
        if len(started) < served.breaker_runs:
            return None
        reopen = min(r.started for r in started) + served.breaker_window_seconds
        return (f"circuit breaker open on {environment}: {len(started)} runs started by alerts within "
                f"{served.breaker_window_seconds // 60} min (jeju_serve.breaker_runs {served.breaker_runs}); "
                f"no automatic run before {time.strftime('%H:%M:%S', time.gmtime(reopen))} UTC. Look at "
                f"`jeju-play history`; run by hand if needed.")

    def _note(self, run: ServedRun, what: str, alerts: list[Alert]) -> None:
        run.fingerprints += [a.fingerprint for a in alerts if a.fingerprint not in run.fingerprints]
        run.unflushed.append({"time": now_iso(), "event": what, "alerts": [a.brief() for a in alerts]})
        self._flush()  # at once when the run's folder exists: a serve stopped right after loses no note

    # -- runs ----------------------------------------------------------------------------------------------------
    def reap(self) -> tuple[list[ServedRun], list[Decision]]:
        """Mark the runs whose process ended (with their outcome from the record), start the queued runs whose
        environment is free; return both."""
        with self.lock:
            ended = self._reap()
            started = self._start_queued() if self.state.queued else []
            self._flush()
            if ended or started:
                self.state.save()
            return ended, started

    def _reap(self) -> list[ServedRun]:
        ended = []
        for run in self.state.runs.values():
            if run.running and not self.alive(run):
                summary = _summary(self.runs_base, run.run_id)
                run.ended = self.clock()
                run.exit_code = summary.get("exit_code") if summary else None
                run.outcome = str(summary.get("outcome")) if summary else DIED
                if run.outcome == "running":  # killed, or crashed, before its verdict
                    run.outcome = DIED
                ended.append(run)
        return ended

    def _flush(self) -> None:
        """Notes go into the run's folder once the run has made it."""
        for run in self.state.runs.values():
            folder = self.runs_base / run.run_id
            if run.unflushed and folder.is_dir():
                for note in run.unflushed:
                    audit.append_line(folder / RUN_NOTES_FILE, json.dumps(note, sort_keys=True))
                run.unflushed = []

    def pause(self, who: str, reason: str) -> None:
        with self.lock:
            self.state.paused = {"since": now_iso(), "by": who, "reason": reason}
            self.state.save()

    def resume(self) -> None:
        with self.lock:
            self.state.paused = None
            self.state.save()

    def overview(self) -> dict[str, Any]:
        with self.lock:
            runs = sorted(self.state.runs.values(), key=lambda r: r.started, reverse=True)
            return {"paused": self.state.paused,
                    "breakers": {name: self._breaker(name) for name in self.served},
                    "queued": list(self.state.queued.values()),
                    "runs": [r.brief() for r in runs]}


def _from_brief(brief: dict[str, Any]) -> Alert:
    """An alert as the queue kept it (Alert.brief)."""
    return Alert(status=str(brief.get("status", "firing")), labels=dict(brief.get("labels") or {}),
                 annotations={"summary": str(brief.get("summary", ""))}, starts_at=str(brief.get("startsAt", "")),
                 ends_at="", fingerprint=str(brief.get("fingerprint", "")))


def _label(alert: Alert) -> str:
    return f"{alert.name}/{alert.fingerprint}"


def _summary(base: Path, run_id: str) -> dict[str, Any] | None:
    try:
        return dict(json.loads((base / run_id / "summary.json").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None
