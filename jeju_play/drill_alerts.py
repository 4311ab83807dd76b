"""`jeju-play drill INCIDENT --via-alerts`: nothing typed but the approvals. The fault moves the lab's metrics,
the lab's Prometheus fires, its Alertmanager notifies `jeju-play serve`, serve starts the incident's run, the
drill approves each gate the way a human would (the approval command's path, jeju_play.approvals), and checks
from outside that the lab recovered and that the alert's resolved notification started nothing.

Other incidents the fault's symptoms raise (a stalled batcher's low balance) get their own runs; the drill denies
their gates, as an on-call rehearsing this incident would, so that they end and free the environment.

Timings: detect (fault to the alert at serve: scrape, `for:`, group_wait), diagnosis (run start to its first
gate), run (start to end), recovery (fault to verified recovery) and resolve (recovery to the alert gone from
Alertmanager).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from jeju_play import approvals
from jeju_play import catalog as catalog_mod
from jeju_play.drill import DrillReport, default_fault
from jeju_play.errors import BadInput, ExitCode, LabError
from jeju_play.paths import lab_dir, runs_dir
from jeju_play.record import operator

DETECT_LIMIT_S = 120.0
RUN_LIMIT_S = 600.0
RESOLVE_LIMIT_S = 300.0  # proposer-stuck's alert clears once the proposer has caught up: 1-3 minutes
POLL_S = 0.2


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the lab and serve, on loopback
        return json.loads(response.read())


def _wait(condition: Callable[[], Any], limit: float, what: str) -> Any:
    deadline = time.monotonic() + limit
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise LabError(f"Drill via alerts: not within {limit:.0f} s: {what}.")
        time.sleep(POLL_S)
    return value


def _free_or_say(address: str) -> None:
    """The drill's serve must listen where the lab's Alertmanager sends: a serve of the user's may be there."""
    import socket

    host, _, port = address.rpartition(":")
    with socket.socket() as probe:
        # As serve's own server binds (allow_reuse_address): the last drill's connections in TIME_WAIT do not count,
        # a socket listening there does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError as exc:
            raise BadInput(f"{address}, where the lab's Alertmanager sends its alerts (lab.yml's jeju_serve_listen), "
                           f"is taken ({exc.strerror}): a `jeju-play serve -i local` of yours? Stop it, then drill "
                           "again.") from exc


class ServeProcess:
    """`jeju-play serve -i local` where the lab's Alertmanager sends its webhooks, stopped by pid."""

    def __init__(self, root: Path, address: str, state: Path):
        self.url = f"http://{address}"
        self.state = state
        shutil.rmtree(state, ignore_errors=True)
        state.mkdir(parents=True)
        self.log = state / "serve.log"
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jeju_play", "serve", "-i", "local", "--listen", address],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, "JEJU_PLAY_HOME": str(root), "JEJU_PLAY_SERVE_STATE": str(state)})
        _wait(self._up, 20, f"serve answering on {self.url} (see {self.log})")

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise LabError(f"serve exited at start: {self.log.read_text(encoding='utf-8').strip()[-400:]}")
        try:
            return bool(_get(self.url + "/healthz").get("ok"))
        except OSError:
            return False

    def runs(self) -> list[dict[str, Any]]:
        return list(_get(self.url + "/runs")["runs"])

    def knows(self, incident: str) -> bool:
        """Whether an alert of `incident` has reached serve: its run started, or queued behind another run."""
        overview = _get(self.url + "/runs")
        return any(r["incident"] == incident for r in overview["runs"] + overview["queued"])

    def mine(self, incident: str, deny_others: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
        """The runs of `incident` serve started; with deny_others, the others' gates are denied first."""
        if deny_others is not None:
            self.deny_others(incident, deny_others)
        return [r for r in self.runs() if r["incident"] == incident]

    def deny_others(self, incident: str, say: Callable[[str], None]) -> None:
        """The symptoms' other incidents (a stalled batcher's low balance, a busy node's memory): each gate their
        runs wait at is denied, as an on-call rehearsing `incident` would, so that their runs end and free the
        environment."""
        for run in self.runs():
            if run["incident"] != incident and run["ended"] is None:
                for gate in _waiting(run["run_id"]):
                    approvals.answer(run["run_id"], str(gate["id"]), approvals.Answer(
                        approved=False, who=f"{operator()} (drill)", how="jeju-play deny",
                        reason=f"the drill rehearses {incident}, not {run['incident']}"))
                    say(f"  denied {gate.get('approval')} of {run['incident']} (not this drill's incident)")

    def wind_down(self, incident: str, say: Callable[[str], None], limit: float = 120.0,
                  deny_all: bool = False) -> None:
        """Before serve stops: the runs it started end (their gates denied), so none holds the lock."""
        deadline = time.monotonic() + limit
        while any(r["ended"] is None for r in self.runs()) and time.monotonic() < deadline:
            self.deny_others("" if deny_all else incident, say)
            time.sleep(POLL_S)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def run_via_alerts(root: Path, incident_name: str, fault_name: str | None, out: Console, quiet: bool,
                   fresh: bool = True) -> DrillReport:
    from jeju_lab.control import Lab
    from jeju_lab.faults import fault as lookup_fault
    from jeju_lab.monitoring import LabMonitoring

    incident = catalog_mod.load(root).get(incident_name)
    if not incident.automated or not incident.alerts:
        raise BadInput(f"'{incident.name}' has no alerts in catalog.yml (or is not automated): drill it without "
                       "--via-alerts.")
    chosen = fault_name or default_fault(incident)
    if chosen is None:
        raise BadInput(f"'{incident.name}' is a routine procedure: no fault raises its alerts.")
    fault = lookup_fault(chosen)
    address = LabMonitoring(lab_dir()).serve_listen  # lab.yml's jeju_serve_listen, kept across lab restarts
    _free_or_say(address)  # before anything restarts or breaks
    lab, timings, start = Lab.default(), {}, time.monotonic()
    if fresh and lab.running():
        lab.down()
    lab.up()
    timings["lab_up"] = time.monotonic() - start
    monitoring = lab.state.get("monitoring") or {}
    if "urls" not in monitoring:
        raise LabError(f"The lab runs without Prometheus and Alertmanager ({monitoring.get('problem', 'not started')}"
                       "): `make install` installs them; drill without --via-alerts meanwhile.")
    serve = ServeProcess(root, address, lab_dir() / "serve")
    say = (lambda text: None) if quiet else (lambda text: out.print(text, markup=False, soft_wrap=True))
    try:
        report = _drill(lab, serve, incident, fault, monitoring["urls"]["alertmanager"], timings, say)
    finally:
        try:  # whatever happened, no run serve started is left holding the lock
            serve.wind_down(incident.name, say, deny_all=True)
        finally:
            serve.stop()
    timings["total"] = time.monotonic() - start
    report.seconds = {k: round(v, 2) for k, v in timings.items()}
    return report


def _drill(lab: Any, serve: ServeProcess, incident: catalog_mod.Incident, fault: Any, alertmanager: str,
           timings: dict[str, float], say: Callable[[str], None]) -> DrillReport:
    # An alert left active by an earlier fault would be "detected" at once and time nothing.
    _wait(lambda: not _active(alertmanager, incident.alerts), RESOLVE_LIMIT_S,
          f"{incident.name}'s alerts ({', '.join(incident.alerts)}) quiet in Alertmanager before the fault")
    broken = time.monotonic()
    lab.break_fault(fault.name)
    say(f"Broke {fault.name}; waiting for an alert of {incident.name} ({', '.join(incident.alerts)}) to start a run.")
    _wait(lambda: serve.knows(incident.name), DETECT_LIMIT_S,
          f"an alert of {incident.name} reaching serve (serve's log: {serve.log})")
    timings["detect"] = time.monotonic() - broken
    say(f"serve received an alert of {incident.name} after {timings['detect']:.1f} s.")
    served = _wait(lambda: serve.mine(incident.name, deny_others=say), RUN_LIMIT_S,
                   f"serve starting the run of {incident.name}")
    run_id = served[0]["run_id"]
    say(f"serve started run {run_id}; approving its gates as the on-call would.")
    run_started, approved = time.monotonic(), []
    while True:
        state = next(r for r in serve.runs() if r["run_id"] == run_id)
        if state["ended"] is not None:
            break
        for gate in _waiting(run_id):
            timings.setdefault("diagnosis", time.monotonic() - run_started)
            approvals.answer(run_id, str(gate["id"]), approvals.Answer(
                approved=True, who=f"{operator()} (drill)", how="jeju-play approve", environment="local"))
            approved.append(str(gate.get("approval")))
            say(f"  approved {gate.get('approval')}: {' '.join(str(gate.get('description')).split())}")
        if time.monotonic() - run_started > RUN_LIMIT_S:
            raise LabError(f"Drill via alerts: run {run_id} did not end within {RUN_LIMIT_S:.0f} s; "
                           f"{_last_task(run_id)}.")
        time.sleep(POLL_S)
    timings["run"] = time.monotonic() - run_started
    summary = json.loads((runs_dir() / run_id / "summary.json").read_text(encoding="utf-8"))
    report = DrillReport(incident.name, fault.name, int(summary.get("exit_code") or 0),
                         int(summary.get("exit_code") or 0), None, record=str(runs_dir() / run_id))
    report.facts = {"run_id": run_id, "outcome": summary.get("outcome"), "gates_approved": approved,
                    "alerts": sorted({a["alertname"] for a in summary.get("alerts", [])})}
    if report.exit_code != ExitCode.OK:
        report.problems.append(f"the run ended {summary.get('outcome')}: {summary.get('message')}")
        return report
    verdict = fault.recovery_for(incident.name)(lab)
    timings["recovery"] = time.monotonic() - broken
    report.recovered, report.problems = verdict.recovered, list(verdict.problems)
    report.facts.update(verdict.facts)
    if not verdict.recovered:
        report.exit_code = int(ExitCode.FAILED)
        return report
    recovered = time.monotonic()
    _wait(lambda: not _active(alertmanager, incident.alerts), RESOLVE_LIMIT_S,
          f"{incident.name}'s alerts resolved in Alertmanager")
    timings["resolve"] = time.monotonic() - recovered
    _wait(lambda: _resolved_received(serve.state, incident.alerts), RESOLVE_LIMIT_S,
          f"serve receiving the resolved notification of {incident.name}'s alerts")
    mine = [r for r in serve.runs() if r["incident"] == incident.name]
    report.facts["runs_started"] = len(mine)
    if len(mine) != 1:
        report.problems.append(f"serve started {len(mine)} runs of {incident.name}, not one")
        report.exit_code = int(ExitCode.FAILED)
    return report


def _active(alertmanager: str, names: tuple[str, ...]) -> list[str]:
    alerts = _get(alertmanager + "/api/v2/alerts?active=true&silenced=false&inhibited=false")
    return [a["labels"]["alertname"] for a in alerts if a["labels"].get("alertname") in names]


def _resolved_received(state: Path, names: tuple[str, ...]) -> bool:
    """Whether serve has logged a notification that resolves one of `names`."""
    log = state / "notifications.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return any(a.get("alertname") in names and a.get("status") == "resolved"
               for line in lines for a in json.loads(line).get("alerts", []))


def _last_task(run_id: str) -> str:
    """Where a run is: its record's newest task, for a drill that gives up on it."""
    events = runs_dir() / run_id / "events.jsonl"
    lines = events.read_text(encoding="utf-8").splitlines() if events.exists() else []
    tasks = [event for event in map(json.loads, lines) if event.get("task")]
    if not tasks:
        return "its record has no task yet"
    last = tasks[-1]
    return f"its newest task: {last.get('play')} / {last['task']} ({last.get('event')} at {last.get('time')})"


def _waiting(run_id: str) -> list[dict[str, Any]]:
    return approvals.pending(run_id) if (runs_dir() / run_id).is_dir() else []
