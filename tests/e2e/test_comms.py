"""Comms end to end: a real network-down run on the lab tells Slack, Discord, PagerDuty and the status page (the
lab's comms double, over HTTP), each once, in the incident's order; a broken channel never blocks the fix; check
mode sends nothing; no secret reaches the output, the record or the incident."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
import yaml

from jeju_lab.recovery import rpc_serving
from jeju_lab.sim.comms_double import LAB_PAGERDUTY_KEYS
from tests.support import LabHandle, kube, lab_secrets, run_cli, run_incident, secrets_in, wait_until

from .network_down_lab import wait_for_stall


def lab_vars(lab: LabHandle) -> dict[str, Any]:
    return dict(yaml.safe_load((lab.project / "inventories/local/group_vars/all/lab.yml").read_text()))


def captured(lab: LabHandle) -> list[dict[str, Any]]:
    answer = requests.get(f"{lab_vars(lab)['jeju_comms_capture_url']}/_captured", timeout=5)
    answer.raise_for_status()
    return list(answer.json())


def reset_double(lab: LabHandle) -> None:
    base = lab_vars(lab)["jeju_comms_capture_url"]
    requests.delete(f"{base}/_captured", timeout=5).raise_for_status()
    requests.delete(f"{base}/_faults", timeout=5).raise_for_status()


def fault(lab: LabHandle, **how: Any) -> None:
    requests.post(f"{lab_vars(lab)['jeju_comms_capture_url']}/_faults", json=how, timeout=5).raise_for_status()


def step(call: dict[str, Any]) -> tuple[str, str]:
    """What one captured request did: (service, action)."""
    body = call.get("body") or {}
    if call["service"] == "pagerduty":
        return "pagerduty", str(body.get("event_action"))
    if call["service"] == "statuspage":
        incident = body.get("incident") or {}
        return "statuspage", f"{call['method']} {incident.get('status')}"
    return call["service"], "post"


def test_network_down_tells_everyone_once_check_sends_nothing_and_broken_slack_does_not_block(
        nd_lab: LabHandle, tmp_path: Path) -> None:
    lab = nd_lab
    env = {**lab.env, "JEJU_PLAY_INCIDENTS": str(tmp_path / "incidents")}
    reset_double(lab)
    lab.lab.break_fault("sequencer-oom")
    wait_for_stall(lab)

    planned = run_cli("network-down", "-i", "local", "--check", env_extra=env, timeout=240)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert captured(lab) == [], "check mode sent something"
    assert not (tmp_path / "incidents").exists() or not list((tmp_path / "incidents").glob("*/incident.json"))

    fault(lab, service="slack", status=500, count=1000)  # Slack is down for the whole run
    fault(lab, service="pagerduty", status=429, count=1)  # PagerDuty throttles the first event once
    done = run_cli("network-down", "-i", "local", "--yes", env_extra=env, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr

    listed = run_cli("incidents", "--all", "--json", env_extra=env)
    assert listed.returncode == 0, listed.stderr
    (incident,) = json.loads(listed.stdout)
    assert incident["status"] == "closed" and incident["close_reason"].startswith("recovery verified by run")

    calls = captured(lab)
    delivered = [step(c) for c in calls if c["service"] != "slack" and c["answered"] < 300]
    assert delivered == [
        ("discord", "post"), ("pagerduty", "trigger"), ("statuspage", "POST investigating"),  # opened
        ("discord", "post"), ("pagerduty", "acknowledge"), ("statuspage", "PATCH identified"),  # the change
        ("discord", "post"), ("pagerduty", "resolve"), ("statuspage", "PATCH resolved"),  # verified
    ], calls
    pages = [c["body"] for c in calls if c["service"] == "pagerduty" and c["answered"] < 300]
    assert {p["dedup_key"] for p in pages} == {incident["id"]}
    assert pages[0]["payload"]["severity"] == "critical"
    throttled = [c for c in calls if c["service"] == "pagerduty" and c["answered"] == 429]
    assert len(throttled) == 1 and throttled[0]["body"]["event_action"] == "trigger"
    slack = [c for c in calls if c["service"] == "slack"]
    assert slack and all(c["answered"] == 500 for c in slack)
    assert len(slack) == 3 * 4, "each of the three Slack messages is tried retry.attempts (4) times, then left"

    public = [c["body"]["incident"] for c in calls if c["service"] == "statuspage"]
    ids = {component for p in public for component in (p.get("components") or {})}
    assert len(ids) == 1 and public[-1]["components"] == {ids.pop(): "operational"}
    for update in public:
        text = json.dumps(update)
        assert "0x" not in text and "op-node" not in text and "OOM" not in text, text

    shown = run_cli("incidents", "show", incident["id"], env_extra=env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), shown.stdout
    assert "Cause: Out of memory" in shown.stdout and "Gate:" in shown.stdout
    assert "NOT delivered: slack:incidents" in shown.stdout and "Sent: pagerduty:on_call trigger" in shown.stdout

    postmortem = run_cli("report", incident["id"], "--kind", "postmortem", env_extra=env)
    assert postmortem.returncode == 0 and "## Root Cause\nOut of memory" in postmortem.stdout

    assert secrets_in(lab_secrets(lab), texts={"the terminal": done.stdout + shown.stdout + postmortem.stdout},
                      folders=(tmp_path / "incidents", Path(lab.env["JEJU_PLAY_RUNS"]))) == []


def test_a_gate_nobody_answers_in_an_alert_run_is_told_to_the_escalation_level(lab: LabHandle,
                                                                               tmp_path: Path) -> None:
    """serve's run of rpc-down waits at its scale gate; nobody answers within the (here 3 s) timeout: the run
    escalates (exit 3), changes nothing, and the escalation level's channels and PagerDuty service hear of it."""
    reset_double(lab)
    short_wait = lab.project / "inventories" / "local" / "group_vars" / "all" / "zz_test_gate_timeout.yml"
    short_wait.write_text("jeju_gate_timeout_seconds: 3\n")
    alerts = tmp_path / "alerts.json"
    alerts.write_text(json.dumps([{"alertname": "JejuRpcDown", "status": "firing", "fingerprint": "rpc-1",
                                   "startsAt": "2026-12-02T03:00:00Z", "labels": {"environment": "local"},
                                   "summary": "The public RPC does not answer"}]))
    lab.lab.break_fault("reth-scaled-to-zero")
    try:
        wait_until(lambda: not rpc_serving(lab.lab).recovered, "the public RPC down")
        done, record = run_incident(lab, "rpc-down", "--json", "--alerts-file", str(alerts))
        replicas = kube(lab).apps.read_namespaced_deployment("reth", "op-stack").spec.replicas
    finally:
        short_wait.unlink()
        lab.lab.heal()
    wait_until(lambda: rpc_serving(lab.lab).recovered, "the public RPC serving again", limit=60)
    assert done.returncode == 3, done.stdout + done.stderr
    assert replicas == 0  # nothing after the unanswered gate ran
    summary = json.loads((record / "summary.json").read_text())
    assert summary["message"].startswith("Escalated: nobody answered the gate")
    assert summary["escalation"]["level"] == 2  # catalog.yml: rpc-down escalates to the engineering lead
    calls = captured(lab)
    told = [c for c in calls if "Nobody answered the gate" in json.dumps(c["body"])]
    seen = [(c["service"], (c["body"] or {}).get("routing_key", ""), json.dumps(c["body"])[-160:]) for c in calls]
    # level 2's channels (on_call and incidents, on Slack and Discord) and its PagerDuty service
    assert sorted(step(c) for c in told) == [("discord", "post"), ("slack", "post"), ("slack", "post")], seen
    paged = [c["body"] for c in calls if c["service"] == "pagerduty" and c["body"]["event_action"] == "trigger"]
    assert [b["routing_key"] for b in paged] == [LAB_PAGERDUTY_KEYS["on_call"],  # opened: on-call
                                                  LAB_PAGERDUTY_KEYS["engineering_lead"]], seen  # escalated
    events = (record / "events.jsonl").read_text()
    assert "Escalate: tell the escalation level that a gate went unanswered" in events  # in the same record
