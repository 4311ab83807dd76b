"""Every report kind rendered from one recorded incident, compared with the reviewed files in
tests/fixtures/reports/. After a deliberate template change: JEJU_PLAY_UPDATE_GOLDEN=1, then review the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jeju_play import reports

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "reports"
ID = "INC-20261201-1000-0001"
RUN = "20261201T100000Z-network-down-0001"
EVENTS = [("diagnose", "10:00:01"), ("decide", "10:00:05"), ("remediate", "10:00:09"), ("verify", "10:02:00")]


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A network-down incident as a run leaves it: OOM, one gate, one change, verified, closed."""
    monkeypatch.setenv("JEJU_PLAY_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("JEJU_PLAY_INCIDENTS", str(tmp_path / "incidents"))
    run = tmp_path / "runs" / RUN
    (run / "artifacts").mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({
        "run_id": RUN, "incident": "network-down", "environment": "mainnet", "who": "alice@ops", "origin": "alert",
        "started": "2026-12-01T10:00:00.000Z", "ended": "2026-12-01T10:03:30.000Z", "check_mode": False,
        "outcome": "verified", "exit_code": 0, "proof": "3 new L2 blocks in 3.4 s, op-node Ready",
        "cause": {"cause": "out_of_memory", "cause_text": "Out of memory: op-node is OOMKilled", "healthy": False},
        "tried": ["raised op-node's memory limit from 2Gi to 3Gi"]}))
    (run / "events.jsonl").write_text("".join(json.dumps(
        {"event": "playbook_on_play_start", "phase": phase, "time": f"2026-12-01T{clock}.000000+00:00"}) + "\n"
        for phase, clock in EVENTS))
    (run / "approvals.jsonl").write_text(json.dumps({
        "description": "Raise op-node's memory limit from 2Gi to 3Gi (op-node is OOMKilled)", "decision": "approved",
        "answer": {"who": "alice@ops", "how": "terminal", "when": "2026-12-01T10:00:20.000Z"}}) + "\n")
    (run / "artifacts" / "diagnosis.json").write_text(json.dumps({"evidence": {
        "l2_head": "block 126, 8.6 s old (stalled after 5.0 s)", "pods": "op-node-a restarts=2 OOMKilled"}}))
    (run / "artifacts" / "drift.yml").write_text(
        "drift:\n- {file: op-node/values.yaml, key: resources.limits.memory, was: 2Gi, live: 3Gi, "
        "object: op-stack/deployment/op-node, reason: op-node is OOMKilled, applied: true}\n")
    folder = tmp_path / "incidents" / ID
    folder.mkdir(parents=True)
    (folder / "incident.json").write_text(json.dumps({
        "id": ID, "incident": "network-down", "environment": "mainnet", "title": "Network Down", "severity": "P0",
        "escalation": 2, "update_every": "15m", "opened": "2026-12-01T10:00:00.000Z", "origin": "alert",
        "status": "closed", "confirmed": True, "closed": "2026-12-01T10:03:30.000Z", "closed_by": "alice@ops",
        "close_reason": f"recovery verified by run {RUN}",
        "runs": [{"run_id": RUN, "started": "2026-12-01T10:00:00.000Z", "check_mode": False, "origin": "alert",
                  "outcome": "verified", "ended": "2026-12-01T10:03:30.000Z", "cause_text": "OOM"}]}))
    sent = [("10:00:06", "slack:incidents/opened", "post", True), ("10:00:07", "pagerduty:on_call/trigger",
            "trigger", True), ("10:00:21", "slack:incidents/change", "post", False),
            ("10:03:29", "pagerduty:on_call/resolve", "resolve", True)]
    (folder / "comms.jsonl").write_text("".join(json.dumps({
        "time": f"2026-12-01T{clock}.000Z", "key": f"{ID}/{key}", "action": action, "delivered": ok,
        "error": None if ok else "Slack answered 500 after 4 attempts"}) + "\n" for clock, key, action, ok in sent))
    return ID


@pytest.mark.parametrize("kind", reports.KINDS)
def test_each_report_matches_its_reviewed_file(recorded: str, kind: str) -> None:
    text = reports.render(recorded, kind)
    golden = GOLDEN / f"{kind}.md"
    if os.environ.get("JEJU_PLAY_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
    assert "{{" not in text and "Undefined" not in text
