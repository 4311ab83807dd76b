"""Incidents as records: opened by the first run that finds something wrong, runs attached, closed by a verified
recovery or by hand; the timeline and the reports read what the runs recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jeju_play import catalog as catalog_mod
from jeju_play import incidents, reports, timeline
from jeju_play.errors import BadInput
from jeju_play.paths import project_root
from jeju_play.record import Summary

CATALOG = catalog_mod.load(project_root())


@pytest.fixture
def where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JEJU_PLAY_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("JEJU_PLAY_INCIDENTS", str(tmp_path / "incidents"))
    return tmp_path


def summary(run_id: str, incident: str = "network-down", *, outcome: str = "verified", check: bool = False,
            cause: dict[str, object] | None = None, tried: list[str] | None = None, proof: str = "") -> Summary:
    return Summary(run_id=run_id, incident=incident, environment="local", inventory="inventories/local",
                   playbook=f"playbooks/{incident}.yml", who="alice@ops", started="2026-12-01T10:00:00.000Z",
                   check_mode=check, ended="2026-12-01T10:03:30.000Z", outcome=outcome, exit_code=0,
                   cause=cause, tried=tried or [], proof=proof)


OOM = {"cause": "out_of_memory", "cause_text": "op-node is OOMKilled", "healthy": False}
HEALTHY = {"cause": "healthy", "cause_text": "blocks are being produced", "healthy": True}


def test_a_healthy_diagnosis_opens_no_incident(where: Path) -> None:
    entry = CATALOG.get("network-down")
    opened = incidents.begin(entry, "local", "run-1", check=False, origin="cli")
    assert opened is not None and opened.id.startswith("INC-")
    assert incidents.conclude(opened, entry, summary("run-1", cause=HEALTHY)) is None
    assert incidents.all_incidents() == []


def test_a_check_run_opens_nothing_but_an_alert_does(where: Path) -> None:
    entry = CATALOG.get("network-down")
    assert incidents.begin(entry, "local", "run-1", check=True, origin="cli") is None
    from_alert = incidents.begin(entry, "local", "run-2", check=True, origin="alert")
    assert from_alert is not None
    kept = incidents.conclude(from_alert, entry, summary("run-2", outcome="plan shown", check=True, cause=OOM))
    assert kept is not None and kept.is_open and kept.confirmed


def test_runs_attach_to_the_open_incident_until_a_verified_recovery_closes_it(where: Path) -> None:
    entry = CATALOG.get("network-down")
    first = incidents.begin(entry, "local", "run-1", check=False, origin="cli")
    assert first is not None
    incidents.conclude(first, entry, summary("run-1", outcome="failed", cause=OOM))
    second = incidents.begin(entry, "local", "run-2", check=False, origin="cli")
    assert second is not None and second.id == first.id
    closed = incidents.conclude(second, entry, summary("run-2", cause=OOM, tried=["raised memory"], proof="3 blocks"))
    assert closed is not None and not closed.is_open
    assert closed.close_reason == "recovery verified by run run-2: 3 blocks"
    assert [(r.run_id, r.outcome) for r in closed.runs] == [("run-1", "failed"), ("run-2", "verified")]
    assert incidents.open_incidents() == []
    third = incidents.begin(entry, "local", "run-3", check=False, origin="cli")
    assert third is not None and third.id != first.id  # a new incident, the old one stays closed


def test_routine_procedures_are_never_incidents(where: Path) -> None:
    assert incidents.begin(CATALOG.get("daily-checks"), "local", "run-1", check=False, origin="cli") is None


def test_a_contained_breach_stays_open_until_a_human_closes_it(where: Path) -> None:
    entry = CATALOG.get("security-breach")
    opened = incidents.begin(entry, "local", "run-1", check=False, origin="cli")
    assert opened is not None
    kept = incidents.conclude(opened, entry, summary("run-1", "security-breach",
                                                     cause={"cause": "breach", "cause_text": "drain", "healthy": False},
                                                     proof="paused"))
    assert kept is not None and kept.is_open
    with pytest.raises(BadInput, match="--reason"):
        incidents.close(kept.id, "  ", "bob")
    closed = incidents.close(kept.id, "exploit patched, freeze lifted", "bob")
    assert closed.closed_by == "bob" and not incidents.load(kept.id).is_open
    with pytest.raises(BadInput, match="already closed"):
        incidents.close(kept.id, "again", "bob")


def test_an_unknown_incident_says_how_to_list_them(where: Path) -> None:
    with pytest.raises(BadInput, match="jeju-play incidents --all"):
        incidents.load("INC-nope")
    with pytest.raises(BadInput, match="neither an incident"):
        incidents.resolve_runs("no-such-run")


def _recorded_run(where: Path, s: Summary, approvals: list[dict[str, object]] | None = None) -> None:
    folder = where / "runs" / s.run_id
    (folder / "artifacts").mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(s.as_dict()))
    events = [{"event": "playbook_on_play_start", "phase": "diagnose", "time": "2026-12-01T10:00:01.000000+00:00"},
              {"event": "playbook_on_play_start", "phase": "decide", "time": "2026-12-01T10:00:05.000000+00:00"},
              {"event": "playbook_on_play_start", "phase": "remediate", "time": "2026-12-01T10:00:09.000000+00:00"},
              {"event": "playbook_on_play_start", "phase": "verify", "time": "2026-12-01T10:02:00.000000+00:00"}]
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events) + '{"torn')
    (folder / "approvals.jsonl").write_text("".join(json.dumps(a) + "\n" for a in approvals or []))
    (folder / "artifacts" / "diagnosis.json").write_text(json.dumps({"evidence": {"restarts": 4}}))
    (folder / "artifacts" / "drift.yml").write_text(
        "drift:\n- {file: op-node/values.yaml, key: resources.limits.memory, was: 2Gi, live: 3Gi, "
        "object: op-stack/deployment/op-node, reason: OOMKilled, applied: true}\n")


def _restamp(incident_id: str, **stamps: str) -> None:
    """The incident's own times moved to the fake run's clock (10:00:00 to 10:03:30)."""
    path = incidents.folder(incident_id) / incidents.RECORD
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, **stamps}))


def test_the_timeline_and_every_report_come_from_the_record(where: Path) -> None:
    entry = CATALOG.get("network-down")
    opened = incidents.begin(entry, "local", "run-1", check=False, origin="alert")
    assert opened is not None
    done = summary("run-1", cause=OOM, tried=["raised op-node's memory limit from 2Gi to 3Gi"], proof="3 new blocks")
    approval = {"description": "Raise op-node's memory limit", "decision": "approved",
                "answer": {"who": "alice@ops", "how": "terminal", "when": "2026-12-01T10:00:08.000Z"}}
    _recorded_run(where, done, [approval])
    ledger = incidents.folder(opened.id) / incidents.LEDGER
    ledger.write_text(json.dumps({"time": "2026-12-01T10:00:06.000Z", "key": f"{opened.id}/slack:incidents/opened",
                                  "service": "slack", "action": "post", "delivered": True}) + "\n"
                      + json.dumps({"time": "2026-12-01T10:00:07.000Z", "key": f"{opened.id}/pagerduty:on_call/trigger",
                                    "service": "pagerduty", "action": "trigger", "delivered": False,
                                    "error": "pagerduty answered 500 after 4 attempts"}) + "\n")
    incidents.conclude(opened, entry, done)
    _restamp(opened.id, opened="2026-12-01T10:00:00.000Z", closed="2026-12-01T10:03:30.000Z")
    story = timeline.story(incidents.load(opened.id))
    assert story.incident.opened == "2026-12-01T10:00:00.000Z"
    kinds = [e.what for e in story.entries]
    assert kinds[0] == "detected" and kinds[-1] == "closed"
    assert {"cause", "gate", "change", "verified", "sent", "not sent", "outcome"} <= set(kinds)
    texts = "\n".join(e.text for e in story.entries)
    assert "approved by alice@ops (terminal)" in texts and "NOT delivered: pagerduty:on_call trigger" in texts

    report = reports.render(opened.id, "incident")
    assert report.startswith("🚨 INCIDENT REPORT - Network Down\n") and "Impact: Block production stopped" in report
    assert "Root cause identified: op-node is OOMKilled" in report and "Status: Resolved" in report
    postmortem = reports.render(opened.id, "postmortem")
    for heading in ("Summary", "Impact", "Timeline", "Root Cause", "Resolution", "Lessons Learned", "Prevention"):
        assert f"## {heading}" in postmortem
    assert "Duration: 3 min 30 s" in postmortem and "[TO FILL: number of users affected]" in postmortem
    assert "op-node/values.yaml resources.limits.memory: 2Gi -> 3Gi" in postmortem
    update = reports.render(opened.id, "update")
    assert "- raised op-node's memory limit from 2Gi to 3Gi" in update and "ETA: resolved" in update
    with pytest.raises(BadInput, match="choose one of"):
        reports.render(opened.id, "tweet")


def test_the_security_notice_says_nothing_technical(where: Path) -> None:
    entry = CATALOG.get("security-breach")
    opened = incidents.begin(entry, "local", "run-1", check=False, origin="cli")
    assert opened is not None
    done = summary("run-1", "security-breach", tried=["paused through Safe 0xF6460093418247F2cE9ebB9D9fA02B93D603185E"],
                   cause={"cause": "drain", "cause_text": "0xabc drained the portal", "healthy": False})
    _recorded_run(where, done)
    incidents.conclude(opened, entry, done)
    notice = reports.render(opened.id, "security")
    assert "We have paused the Jeju network due to a potential security issue." in notice
    assert "0x" not in notice and "op-node" not in notice and "drained" not in notice
