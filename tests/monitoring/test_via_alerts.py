"""From a fault to a verified recovery with nothing typed but the approvals: the lab's real Prometheus fires, its
real Alertmanager notifies a real `jeju-play serve`, serve runs the incident, the drill approves each gate through
the approval command's path, the lab recovers, the alert resolves and its resolved notification starts nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from jeju_play.drill_alerts import run_via_alerts
from tests.support import LabHandle

pytestmark = [pytest.mark.lab, pytest.mark.slow]


# proposer-stuck via alerts recovers too, but its alert takes 18-82 s (once over 90 s) to resolve after the
# recovery: `jeju-play drill proposer-stuck --via-alerts` rehearses it outside CI.
@pytest.mark.parametrize(("incident", "fault"), [
    ("network-down", "l1-rpc-down"),
    ("batcher-failing", "batcher-unfunded"),
    ("rpc-degraded", "rpc-overload"),
])
def test_an_alert_starts_one_run_that_recovers_once_approved(lab: LabHandle, incident: str, fault: str) -> None:
    report = run_via_alerts(lab.project, incident, fault, Console(stderr=True), quiet=True, fresh=False)
    assert (report.exit_code, report.recovered, report.problems) == (0, True, []), report
    assert report.facts["runs_started"] == 1 and report.facts["gates_approved"], report.facts
    run = Path(report.record)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["origin"] == "alert" and summary["outcome"] == "verified"
    assert {a["alertname"] for a in summary["alerts"]} & set(report.facts["alerts"])
    assert all(g["answer"]["how"] == "approved with jeju-play approve" for g in summary["gates"]), summary["gates"]
    notes = [json.loads(line) for line in (run / "notifications.jsonl").read_text().splitlines()]
    assert "resolved" in [n["event"] for n in notes]  # the resolved notification is on the run; it started none
    print(f"{incident} via alerts: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items()))
