"""Alert payloads at volume (part of issue 12's bad input): whatever reaches serve's webhook, the reader answers a
notification or BadPayload (serve's 400, nothing started), never another exception; and the receiver decides
every notification it reads without one, starting nothing for alerts it does not know."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from jeju_play import alerts, catalog
from jeju_play.receiver import Receiver, Served, ServedRun, ServeState
from tests.support import ROOT

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                max_size=4), max_leaves=12)
NAMES = st.sampled_from(["JejuNoNewBlocks", "JejuRpcDown", "Unknown", "", "JejuBatcherNoBatches"])
LABELS = st.fixed_dictionaries({"alertname": NAMES}, optional={
    "environment": st.sampled_from(["local", "mainnet", "", "nowhere"]), "severity": st.text(max_size=5)})
ALERT = st.fixed_dictionaries({}, optional={
    "status": st.sampled_from(["firing", "resolved", "odd", 3]), "labels": LABELS | JSON,
    "annotations": st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2) | JSON,
    "startsAt": st.text(max_size=24) | JSON, "endsAt": st.text(max_size=24), "fingerprint": st.text(max_size=16)})
NOTIFICATION = st.fixed_dictionaries({}, optional={
    "version": st.sampled_from(["4", 4, "3", None]), "groupKey": st.text(max_size=16) | JSON,
    "status": st.sampled_from(["firing", "resolved", "", None]), "receiver": st.text(max_size=8),
    "truncatedAlerts": st.integers() | JSON, "alerts": st.lists(ALERT, max_size=6) | JSON})


@given(st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()))
def test_any_body_is_a_notification_or_bad_payload(body: bytes) -> None:
    try:
        alerts.parse(body)
    except alerts.BadPayload as exc:
        assert str(exc)


@given(NOTIFICATION)
def test_any_near_notification_is_read_or_refused_and_decided(data: dict[str, Any]) -> None:
    try:
        notification = alerts.parse(json.dumps(data).encode())
    except alerts.BadPayload as exc:
        assert str(exc)
        return
    started: list[ServedRun] = []

    def launch(run: ServedRun, _alerts: list[alerts.Alert]) -> int:
        started.append(run)
        return 0

    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        receiver = Receiver(CATALOG, SERVED, ServeState(Path(folder)), Path(folder) / "runs", launch,
                            lambda _run: True)
        decisions = receiver.receive(notification, {"local"})
    assert len(started) == sum(1 for d in decisions if d.action == "start")
    for run in started:  # a run starts only for a known incident's firing alert on the served environment
        assert run.environment == "local" and run.incident in CATALOG.names()
    assert all(d.action in ("start", "join", "queue", "record", "ignore", "refuse") for d in decisions)


CATALOG = catalog.load(ROOT)
SERVED = {"local": Served("local", False, "w", None, breaker_runs=5, breaker_window_seconds=3600)}
