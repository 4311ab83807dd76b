"""From a fault to a verified recovery with nothing typed but the approvals: the lab's real Prometheus fires, its
real Alertmanager notifies a real `jeju-play serve`, serve runs the incident, the drill approves each gate through
the approval command's path, the lab recovers, the alert resolves and its resolved notification starts nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from jeju_play.drill_alerts import run_via_alerts
from tests.support import JEJU_PLAY, LabHandle, run_cli, wait_until

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.mark.parametrize(("incident", "fault"), [
    ("network-down", "l1-rpc-down"),
    ("batcher-failing", "batcher-unfunded"),
    ("rpc-degraded", "rpc-overload"),
])  # proposer-stuck's, the longest, is in test_via_alerts_proposer.py: another worker runs it beside these
@pytest.mark.timeout(960)  # the drill's own limits (quiet 300 s, detect 120 s, run 600 s) speak first
def test_an_alert_starts_one_run_that_recovers_once_approved(lab: LabHandle, incident: str, fault: str) -> None:
    one_run_recovers_via_alerts(lab, incident, fault)


def one_run_recovers_via_alerts(lab: LabHandle, incident: str, fault: str) -> None:
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


def test_serve_listens_where_this_lab_s_alertmanager_sends_and_a_taken_address_is_named(lab: LabHandle,
                                                                                         tmp_path: Path) -> None:
    """Each lab picks its own address for serve (three labs side by side in CI, a user's own serve): lab.yml's
    jeju_serve_listen is Alertmanager's webhook; `jeju-play serve -i local` listens there with no --listen; and a
    drill whose address a running serve holds says so, exit 2, before it breaks anything."""
    listen = yaml.safe_load(lab.lab.inventory_file.read_text())["jeju_serve_listen"]
    assert listen.startswith("127.0.0.1:") and listen != "127.0.0.1:8790"
    config = yaml.safe_load((lab.project / ".lab/monitoring/alertmanager.yml").read_text())
    [receiver] = config["receivers"]
    assert receiver["webhook_configs"][0]["url"] == f"http://{listen}/alertmanager"

    log = tmp_path / "serve.log"
    with open(log, "w", encoding="utf-8") as out:
        serve = subprocess.Popen([str(JEJU_PLAY), "serve", "-i", "local"], stdout=out, stderr=subprocess.STDOUT,
                                 env={**os.environ, "JEJU_PLAY_SERVE_STATE": str(tmp_path / "serve")})
    try:
        wait_until(lambda: _answers(f"http://{listen}/healthz") or serve.poll() is not None,
                   f"serve answering at {listen}", limit=20)
        assert serve.poll() is None, log.read_text()
        drilled = run_cli("drill", "network-down", "--fault", "sequencer-crash", "--via-alerts", timeout=60)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=20)
    assert drilled.returncode == 2, drilled.stdout + drilled.stderr
    assert f"{listen}, where the lab's Alertmanager sends its alerts" in " ".join(drilled.stderr.split())
    assert "Traceback" not in drilled.stderr
    assert [f["name"] for f in lab.lab.faults() if f["active"]] == [] and lab.lab.running()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
