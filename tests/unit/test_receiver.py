"""serve's decisions over time (jeju_play.receiver), with a clock the test moves: cooldowns expire, the breaker
reopens, a resolved alert never starts a run; and the strict reading of Alertmanager's payload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jeju_play import alerts, catalog, durations
from jeju_play.receiver import Receiver, Served, ServedRun, ServeState
from tests.support import ROOT


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Runs:
    """Stands in for the processes serve starts: each 'runs' until the test ends it."""

    def __init__(self) -> None:
        self.started: list[ServedRun] = []
        self.done: set[str] = set()

    def launch(self, run: ServedRun, _alerts: list[alerts.Alert]) -> int:
        self.started.append(run)
        return 4242

    def alive(self, run: ServedRun) -> bool:
        return run.run_id not in self.done

    def finish(self, run: ServedRun, base: Path, outcome: str = "verified") -> None:
        """The run's process ends, having written its verdict into the record (as `jeju-play` does)."""
        (base / run.run_id).mkdir(parents=True)
        (base / run.run_id / "summary.json").write_text(json.dumps({"outcome": outcome, "exit_code": 0}))
        self.done.add(run.run_id)


def payload(*names: str, environment: str = "local", status: str = "firing") -> alerts.Notification:
    body = {"version": "4", "groupKey": "g", "status": status, "receiver": "r", "alerts": [
        {"status": status, "labels": {"alertname": n, "environment": environment}, "annotations": {},
         "startsAt": "2026-12-01T03:00:00Z", "endsAt": "", "fingerprint": f"fp-{n}"} for n in names]}
    return alerts.parse(json.dumps(body).encode())


@pytest.fixture
def world(tmp_path: Path) -> tuple[Receiver, Runs, Clock]:
    runs, clock = Runs(), Clock()
    served = {"local": Served("local", False, "w", None, breaker_runs=3, breaker_window_seconds=600)}
    receiver = Receiver(catalog.load(ROOT), served, ServeState(tmp_path / "serve"), tmp_path / "runs",
                        runs.launch, runs.alive, clock=clock)
    return receiver, runs, clock


def actions(decisions: list[Any]) -> list[str]:
    return [d.action for d in decisions]


def test_alerts_of_one_incident_start_one_run_another_incident_waits_its_turn(
        world: tuple[Receiver, Runs, Clock]) -> None:
    receiver, runs, _ = world
    decided = receiver.receive(payload("JejuNoNewBlocks", "JejuSequencerDown", "JejuRpcDown"), {"local"})
    assert sorted((d.incident, d.action) for d in decided) == [("network-down", "start"), ("rpc-down", "queue")]
    assert [r.incident for r in runs.started] == ["network-down"]
    assert "waits for run " in next(d.reason for d in decided if d.action == "queue")
    assert receiver.reap() == ([], [])  # network-down still runs: rpc-down still waits
    runs.finish(runs.started[0], receiver.runs_base)
    ended, started = receiver.reap()
    assert [r.incident for r in ended] == ["network-down"] and [d.incident for d in started] == ["rpc-down"]
    assert [r.incident for r in runs.started] == ["network-down", "rpc-down"]
    assert runs.started[1].fingerprints == ["fp-JejuRpcDown"]


def test_a_queued_incident_resolved_before_its_turn_never_starts(world: tuple[Receiver, Runs, Clock]) -> None:
    receiver, runs, _ = world
    receiver.receive(payload("JejuNoNewBlocks"), {"local"})
    assert actions(receiver.receive(payload("JejuRpcDown"), {"local"})) == ["queue"]
    decided = receiver.receive(payload("JejuRpcDown", status="resolved"), {"local"})
    assert actions(decided) == ["record"] and "leaves the queue" in decided[0].reason
    runs.finish(runs.started[0], receiver.runs_base)
    assert receiver.reap()[1] == [] and len(runs.started) == 1


def test_the_most_severe_queued_incident_goes_first(world: tuple[Receiver, Runs, Clock]) -> None:
    receiver, runs, clock = world
    receiver.receive(payload("JejuNoNewBlocks"), {"local"})
    receiver.receive(payload("JejuRpcSlow"), {"local"})  # rpc-degraded, P1
    clock.now += 1
    receiver.receive(payload("JejuRpcDown"), {"local"})  # rpc-down, P0: later, but first
    runs.finish(runs.started[0], receiver.runs_base)
    assert [d.incident for d in receiver.reap()[1]] == ["rpc-down"]


def test_a_firing_alert_joins_until_the_cooldown_has_passed(world: tuple[Receiver, Runs, Clock]) -> None:
    receiver, runs, clock = world
    cooldown = catalog.load(ROOT).get("network-down").cooldown_seconds
    assert actions(receiver.receive(payload("JejuNoNewBlocks"), {"local"})) == ["start"]
    runs.finish(runs.started[0], receiver.runs_base)
    assert [r.run_id for r in receiver.reap()[0]] == [runs.started[0].run_id]  # serve's reaper, every 0.5 s
    clock.now += cooldown - 1
    assert actions(receiver.receive(payload("JejuNoNewBlocks"), {"local"})) == ["join"]
    clock.now += 2
    assert actions(receiver.receive(payload("JejuNoNewBlocks"), {"local"})) == ["start"]


def test_resolved_never_starts_and_is_recorded_on_the_run(world: tuple[Receiver, Runs, Clock]) -> None:
    receiver, runs, _ = world
    assert actions(receiver.receive(payload("JejuRpcDown", status="resolved"), {"local"})) == ["record"]
    assert runs.started == []
    receiver.receive(payload("JejuRpcDown"), {"local"})
    decided = receiver.receive(payload("JejuRpcDown", status="resolved"), {"local"})
    assert (decided[0].action, decided[0].run_id) == ("record", runs.started[0].run_id)
    assert [n["event"] for n in receiver.state.runs[runs.started[0].run_id].unflushed] == ["resolved"]


def test_the_breaker_opens_after_n_runs_and_closes_after_the_window(world: tuple[Receiver, Runs, Clock]) -> None:
    receiver, runs, clock = world
    for name in ("JejuNoNewBlocks", "JejuRpcDown", "JejuDataVolumeCorrupt"):
        assert actions(receiver.receive(payload(name), {"local"})) == ["start"]
        runs.finish(runs.started[-1], receiver.runs_base)
        receiver.reap()
    refused = receiver.receive(payload("JejuBatcherNoBatches"), {"local"})
    assert actions(refused) == ["refuse"] and "circuit breaker open on local: 3 runs" in refused[0].reason
    clock.now += 601
    assert actions(receiver.receive(payload("JejuBatcherNoBatches"), {"local"})) == ["start"]


def test_state_survives_a_new_receiver(world: tuple[Receiver, Runs, Clock], tmp_path: Path) -> None:
    receiver, runs, clock = world
    receiver.receive(payload("JejuNoNewBlocks"), {"local"})
    again = Receiver(receiver.catalog, receiver.served, ServeState(tmp_path / "serve"), tmp_path / "runs",
                     runs.launch, runs.alive, clock=clock)
    assert actions(again.receive(payload("JejuNoNewBlocks"), {"local"})) == ["join"]
    receiver.pause("me", "maintenance")
    paused = Receiver(receiver.catalog, receiver.served, ServeState(tmp_path / "serve"), tmp_path / "runs",
                      runs.launch, runs.alive, clock=clock)
    assert actions(paused.receive(payload("JejuRpcDown"), {"local"})) == ["refuse"]


@pytest.mark.parametrize(("body", "says"), [
    (b"[]", "expected a JSON object"),
    (b'{"version": "4", "status": "firing", "groupKey": "g", "alerts": [{}]}', "alerts[0] lacks `status`"),
    (b'{"version": "4", "status": "odd", "groupKey": "g", "alerts": []}', "status 'odd'"),
    (b'{"version": "4", "status": "firing", "alerts": [{"status": "firing"}]}', "lacks `groupKey`"),
    (b'{"version": "4", "status": "firing", "groupKey": "g", "alerts": [{"status": "firing", "labels": {"a": 1}}]}',
     "labels must map names to strings"),
])
def test_a_payload_is_read_strictly(body: bytes, says: str) -> None:
    with pytest.raises(alerts.BadPayload, match=None) as raised:
        alerts.parse(body)
    assert says in str(raised.value)


@pytest.mark.parametrize(("text", "seconds"), [("< 5 minutes", 300), ("< 2 minutes", 120), ("< 1 hour", 3600),
                                               ("< 15 minutes", 900), ("Next business day", None)])
def test_response_times_in_seconds(text: str, seconds: int | None) -> None:
    assert durations.response_seconds(text) == seconds


def test_every_alerting_incident_has_a_cooldown() -> None:
    for incident in catalog.load(ROOT).incidents:
        if incident.alerts:
            assert incident.cooldown_seconds > 0, incident.name


def test_an_unreadable_state_file_says_what_to_do(tmp_path: Path) -> None:
    from jeju_play.errors import BadInput

    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(BadInput, match="move it aside to start afresh"):
        ServeState(tmp_path)


def test_a_run_that_died_without_a_verdict_absorbs_no_alerts(world: tuple[Receiver, Runs, Clock]) -> None:
    receiver, runs, _ = world
    receiver.receive(payload("JejuNoNewBlocks"), {"local"})
    runs.done.add(runs.started[0].run_id)  # killed before it wrote a verdict
    assert [r.outcome for r in receiver.reap()[0]] == ["died without a verdict"]
    assert actions(receiver.receive(payload("JejuNoNewBlocks"), {"local"})) == ["start"]
