"""chat_message, pagerduty_event and statuspage against the comms double (jeju_lab/sim/comms_double.py) over real
HTTP: the double runs in a background event loop for the whole file; every module runs as Ansible runs it."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import dead_url, run_module_file, start_module_file

from jeju_lab.sim.comms_double import (
    LAB_COMPONENTS,
    LAB_DISCORD,
    LAB_PAGE_ID,
    LAB_PAGERDUTY_KEYS,
    LAB_SLACK_PATHS,
    LAB_STATUSPAGE_KEY,
    CommsDouble,
)

FAST = {"attempts": 4, "backoff_seconds": 0.05, "max_backoff_seconds": 0.1, "timeout_seconds": 2}
RESULT_KEYS = {"delivered", "attempts", "status", "error", "skipped"}
SECRETS = [*(seg for path in LAB_SLACK_PATHS.values() for seg in path.split("/")),
           *(part for pair in LAB_DISCORD.values() for part in pair),
           *LAB_PAGERDUTY_KEYS.values(), LAB_STATUSPAGE_KEY]
INCIDENT = "INC-20261201-1805-a3f2"


class Double:
    def __init__(self, double: CommsDouble, url: str) -> None:
        self.double = double
        self.url = url

    def call(self, method: str, path: str, body: object = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def captured(self, service: str | None = None) -> list[dict[str, Any]]:
        return [c for c in self.call("GET", "/_captured") if service is None or c["service"] == service]

    def fault(self, service: str, count: int, **how: object) -> None:
        self.call("POST", "/_faults", {"service": service, "count": count, **how})

    def slack(self, name: str = "incidents") -> str:
        return f"{self.url}/slack/services/{LAB_SLACK_PATHS[name]}"

    def discord(self, name: str = "incidents") -> str:
        hook_id, token = LAB_DISCORD[name]
        return f"{self.url}/discord/api/webhooks/{hook_id}/{token}"

    @property
    def pagerduty(self) -> str:
        return f"{self.url}/pagerduty/v2/enqueue"

    @property
    def statuspage(self) -> dict[str, str]:
        return {"api_url": f"{self.url}/statuspage/v1", "page_id": LAB_PAGE_ID, "api_key": LAB_STATUSPAGE_KEY}


def wait_for(condition: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def comms_double() -> Iterator[Double]:
    """The comms double in a background event loop (like conftest's op_node_url), for the whole file."""
    loop = asyncio.new_event_loop()
    started, holder = threading.Event(), {}

    async def serve() -> None:
        double = CommsDouble()
        holder.update(url=await double.start(), double=double, stop=asyncio.Event())
        started.set()
        await holder["stop"].wait()
        await double.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10), "the comms double did not start"
    try:
        yield Double(holder["double"], holder["url"])
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(10)
        loop.close()


@pytest.fixture
def double(comms_double: Double) -> Double:
    comms_double.call("DELETE", "/_faults")
    comms_double.call("DELETE", "/_captured")
    return comms_double


@pytest.fixture
def run(collections: Path, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """conftest's run_module with the module name positional-only (statuspage has an option called name)."""
    def call(module: str, /, check: bool = False, **args: object) -> dict[str, Any]:
        return run_module_file(collections, tmp_path, module, args, check)
    return call


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    return tmp_path / "state" / "comms" / "ledger.jsonl"


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def warnings_of(result: dict[str, Any]) -> list[str]:
    """The warning texts (ansible-core 2.19 modules print them as WarningSummary objects)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        leaked = [s for s in SECRETS if s in text]
        assert leaked == [], f"secrets leaked: {leaked}"


def test_slack_and_discord_delivered_with_the_exact_body(double, run, ledger):
    slack = run("chat_message", service="slack", webhook_url=double.slack(), text="*INC* opened",
                       username="jeju-play", ledger=str(ledger), key=f"{INCIDENT}/slack/opened", retry=FAST)
    assert set(slack) >= RESULT_KEYS
    assert slack["delivered"] is True and slack["changed"] is True and slack["status"] == 200
    assert slack["attempts"] == 1 and slack["error"] is None and slack["skipped"] is False
    long_text = "x" * 2500
    discord = run("chat_message", service="discord", webhook_url=double.discord("announcements"),
                         text=long_text, ledger=str(ledger), key=f"{INCIDENT}/discord/opened", retry=FAST)
    assert discord["delivered"] is True and discord["status"] == 204
    captured = double.captured()
    assert [c["service"] for c in captured] == ["slack", "discord"]
    assert captured[0]["body"] == {"text": "*INC* opened", "username": "jeju-play"}
    assert captured[0]["answered"] == 200 and captured[0]["method"] == "POST"
    content = captured[1]["body"]["content"]
    assert len(content) == 2000 and content == "x" * 1999 + "…" and captured[1]["answered"] == 204
    entries = lines(ledger)
    assert [(e["service"], e["action"], e["delivered"], e["attempts"], e["status"]) for e in entries] == [
        ("slack", "post", True, 1, 200), ("discord", "post", True, 1, 204)]
    assert all(e["time"].endswith("Z") and len(e["time"]) == 24 and e["error"] is None for e in entries)
    assert_no_secrets(json.dumps(slack), json.dumps(discord), ledger.read_text())


def test_pagerduty_trigger_acknowledge_resolve_one_alert(double, run, ledger):
    common = dict(url=double.pagerduty, routing_key=LAB_PAGERDUTY_KEYS["on_call"], dedup_key=INCIDENT,
                  ledger=str(ledger), retry=FAST)
    trigger = run("pagerduty_event", action="trigger", summary="s" * 1100, source="jeju-lab/op-node",
                         severity="critical", component="sequencer", group="op-stack", event_class="network_down",
                         custom_details={"unsafe_head": 12}, links=[{"href": "https://runbooks.example/nd",
                                                                     "text": "Runbook"}],
                         key=f"{INCIDENT}/pagerduty/trigger", **common)
    assert trigger["delivered"] is True and trigger["status"] == 202 and trigger["dedup_key"] == INCIDENT
    ack = run("pagerduty_event", action="acknowledge", key=f"{INCIDENT}/pagerduty/ack", **common)
    resolve = run("pagerduty_event", action="resolve", key=f"{INCIDENT}/pagerduty/resolve", **common)
    assert ack["delivered"] and resolve["delivered"] and resolve["dedup_key"] == INCIDENT
    bodies = [c["body"] for c in double.captured("pagerduty")]
    assert bodies[0] == {
        "routing_key": LAB_PAGERDUTY_KEYS["on_call"], "event_action": "trigger", "dedup_key": INCIDENT,
        "payload": {"summary": "s" * 1023 + "…", "source": "jeju-lab/op-node", "severity": "critical",
                    "component": "sequencer", "group": "op-stack", "class": "network_down",
                    "custom_details": {"unsafe_head": 12}},
        "links": [{"href": "https://runbooks.example/nd", "text": "Runbook"}], "client": "jeju-play"}
    assert bodies[1:] == [{"routing_key": LAB_PAGERDUTY_KEYS["on_call"], "event_action": a, "dedup_key": INCIDENT}
                          for a in ("acknowledge", "resolve")]
    assert double.double.pagerduty_alerts[INCIDENT] == "resolved"
    assert [(e["action"], e["dedup_key"], e["status"]) for e in lines(ledger)] == [
        ("trigger", INCIDENT, 202), ("acknowledge", INCIDENT, 202), ("resolve", INCIDENT, 202)]
    assert_no_secrets(json.dumps([trigger, ack, resolve]), ledger.read_text())


def test_pagerduty_invalid_event_is_reported_not_failed(double, run, ledger):
    bad_key = "shortkey-" + LAB_PAGERDUTY_KEYS["cto"][:10]
    result = run("pagerduty_event", url=double.pagerduty, routing_key=bad_key, action="trigger",
                        dedup_key=INCIDENT, summary="down", source="lab", severity="error", ledger=str(ledger),
                        key=f"{INCIDENT}/pagerduty/cto", retry=FAST)
    assert result.get("failed") is not True and result["_rc"] == 0
    assert result["delivered"] is False and result["changed"] is False
    assert result["status"] == 400 and result["attempts"] == 1  # a 4xx is final
    assert "invalid event" in result["error"] and "'routing_key' is incorrect" in result["error"]
    assert any("not delivered" in w for w in warnings_of(result))
    assert bad_key not in json.dumps(result) and bad_key not in ledger.read_text()
    entry = lines(ledger)[-1]
    assert entry["delivered"] is False and entry["status"] == 400 and entry["dedup_key"] == INCIDENT


def test_statuspage_create_update_resolve_one_incident_through_the_ledger(double, run, ledger):
    sp = double.statuspage
    bp, rpc = LAB_COMPONENTS["block_production"], LAB_COMPONENTS["rpc"]
    opened = run("statuspage", **sp, name="Block production halted", body="We are investigating.",
                        components={bp: "major_outage", rpc: "degraded_performance"}, ledger=str(ledger),
                        key=f"{INCIDENT}/statuspage/opened", retry=FAST)
    assert opened["delivered"] is True and opened["status"] == 201 and opened["action"] == "create"
    incident_id = opened["incident_id"]
    assert incident_id in double.double.incidents
    updated = run("statuspage", **sp, status="identified", body="Cause found.",
                         components={bp: "partial_outage"}, ledger=str(ledger),
                         key=f"{INCIDENT}/statuspage/identified", retry=FAST)
    assert updated["action"] == "update" and updated["incident_id"] == incident_id and updated["status"] == 200
    resolved = run("statuspage", **sp, state="resolved", body="Back to normal.",
                          components={bp: "major_outage", rpc: "major_outage"}, ledger=str(ledger),
                          key=f"{INCIDENT}/statuspage/resolved", retry=FAST)
    assert resolved["action"] == "resolve" and resolved["incident_id"] == incident_id and resolved["delivered"]
    captured = double.captured("statuspage")
    assert [(c["method"], c["path"]) for c in captured] == [
        ("POST", f"/statuspage/v1/pages/{LAB_PAGE_ID}/incidents"),
        ("PATCH", f"/statuspage/v1/pages/{LAB_PAGE_ID}/incidents/{incident_id}"),
        ("PATCH", f"/statuspage/v1/pages/{LAB_PAGE_ID}/incidents/{incident_id}")]
    assert captured[0]["body"] == {"incident": {
        "name": "Block production halted", "status": "investigating", "body": "We are investigating.",
        "components": {bp: "major_outage", rpc: "degraded_performance"}, "component_ids": [bp, rpc]}}
    assert captured[1]["body"] == {"incident": {"status": "identified", "body": "Cause found.",
                                                "components": {bp: "partial_outage"}}}
    assert captured[2]["body"] == {"incident": {"status": "resolved", "body": "Back to normal.",
                                                "components": {bp: "operational", rpc: "operational"}}}
    incident = double.double.incidents[incident_id]
    assert incident["status"] == "resolved" and len(incident["incident_updates"]) == 3
    assert {double.double.components[c]["status"] for c in (bp, rpc)} == {"operational"}
    assert [e["incident_id"] for e in lines(ledger)] == [incident_id] * 3
    assert_no_secrets(json.dumps([opened, updated, resolved]), ledger.read_text())


def test_statuspage_refusals_are_results(double, run, ledger):
    sp = double.statuspage
    unknown = run("statuspage", **sp, incident_id="nosuchincident", body="x", retry=FAST)
    assert unknown["delivered"] is False and unknown["status"] == 404 and "Incident not found" in unknown["error"]
    assert unknown.get("failed") is not True
    wrong_key = run("statuspage", **{**sp, "api_key": "not-the-lab-key"}, name="x", retry=FAST)
    assert wrong_key["status"] == 401 and "Could not authenticate" in wrong_key["error"]
    nothing = run("statuspage", **sp, state="resolved", ledger=str(ledger), key="INC-none/statuspage/resolved",
                         retry=FAST)
    assert nothing["skipped"] is True and nothing["delivered"] is False and nothing["attempts"] == 0
    assert "no Statuspage incident to resolve" in nothing["error"] and warnings_of(nothing)
    assert [c["answered"] for c in double.captured()] == [404, 401]


def test_bad_arguments_fail_and_say_what_to_fix(double, run, ledger):
    no_summary = run("pagerduty_event", url=double.pagerduty, routing_key=LAB_PAGERDUTY_KEYS["on_call"],
                            action="trigger", dedup_key=INCIDENT, source="lab")
    assert no_summary["failed"] and "summary" in no_summary["msg"] and "severity" in no_summary["msg"]
    no_name = run("statuspage", **double.statuspage, body="x", ledger=str(ledger), key=f"{INCIDENT}/sp/x")
    assert no_name["failed"] and "name is required to create" in no_name["msg"]
    bad_component = run("statuspage", **double.statuspage, name="x", components={"abc": "broken"})
    assert bad_component["failed"] and "components[abc]" in bad_component["msg"]
    not_a_url = run("chat_message", service="slack", webhook_url="hooks/" + LAB_SLACK_PATHS["incidents"],
                           text="x")
    assert not_a_url["failed"] and "webhook_url is not an http(s) URL" in not_a_url["msg"]
    bad_retry = run("chat_message", service="slack", webhook_url=double.slack(), text="x",
                           retry={"attempts": 0})
    assert bad_retry["failed"] and "retry.attempts" in bad_retry["msg"]
    assert double.captured() == [] and not ledger.exists()
    assert_no_secrets(json.dumps([no_summary, no_name, bad_component, not_a_url, bad_retry]))


def test_a_key_the_ledger_records_is_sent_once(double, run, ledger):
    args = dict(service="slack", webhook_url=double.slack("ops_alerts"), text="once", ledger=str(ledger),
                key=f"{INCIDENT}/slack/ops", retry=FAST)
    first = run("chat_message", **args)
    second = run("chat_message", **args)
    assert first["changed"] is True and first["delivered"] is True
    assert second["changed"] is False and second["skipped"] is True and second["already_sent"] is True
    assert second["attempts"] == 0 and len(double.captured()) == 1 and len(lines(ledger)) == 1
    opened = run("statuspage", **double.statuspage, name="Bridge delayed", ledger=str(ledger),
                        key=f"{INCIDENT}/statuspage/opened", retry=FAST)
    again = run("statuspage", **double.statuspage, name="Bridge delayed", ledger=str(ledger),
                       key=f"{INCIDENT}/statuspage/opened", retry=FAST)
    assert again["already_sent"] is True and again["incident_id"] == opened["incident_id"]
    assert len(double.captured("statuspage")) == 1


def test_two_runs_at_once_send_a_key_once(double, collections, tmp_path, ledger):
    """The ledger is locked while a key is checked, sent and recorded: the second run waits, then skips it."""
    double.fault("slack", 1, timeout=True, hold_seconds=0.5)  # the first answer is slow (504 after 0.5 s)
    args = dict(service="slack", webhook_url=double.slack(), text="once", ledger=str(ledger),
                key=f"{INCIDENT}/slack/race", retry=FAST)
    runs = [start_module_file(collections, tmp_path, "chat_message", args) for _ in range(2)]
    results = [json.loads(run.communicate(timeout=30)[0]) for run in runs]
    assert sorted(r["already_sent"] for r in results) == [False, True]
    sender = next(r for r in results if not r["already_sent"])
    assert sender["delivered"] is True and sender["attempts"] == 2
    assert [c["answered"] for c in double.captured()] == [504, 200] and len(lines(ledger)) == 1


def test_two_server_errors_then_success_is_delivered_on_the_third_attempt(double, run, ledger):
    double.fault("slack", 2, status=500)
    result = run("chat_message", service="slack", webhook_url=double.slack(), text="retry me",
                        ledger=str(ledger), key=f"{INCIDENT}/slack/retry", retry=FAST)
    assert result["delivered"] is True and result["attempts"] == 3 and result["status"] == 200
    assert [c["answered"] for c in double.captured("slack")] == [500, 500, 200]
    assert lines(ledger)[-1]["attempts"] == 3 and lines(ledger)[-1]["delivered"] is True


def test_a_service_that_keeps_failing_does_not_fail_the_task(double, run, ledger):
    double.fault("discord", 50, status=500)
    retry = dict(FAST, attempts=3)
    result = run("chat_message", service="discord", webhook_url=double.discord(), text="lost",
                        ledger=str(ledger), key=f"{INCIDENT}/discord/lost", retry=retry)
    assert result["_rc"] == 0 and result.get("failed") is not True
    assert result["delivered"] is False and result["changed"] is False and result["attempts"] == 3
    assert result["error"] == "Discord answered 500 after 3 attempts" and result["status"] == 500
    assert warnings_of(result) == ["not delivered: Discord answered 500 after 3 attempts"]
    assert len(double.captured("discord")) == 3
    entry = lines(ledger)[-1]
    assert entry == {**entry, "service": "discord", "delivered": False, "attempts": 3, "status": 500,
                     "error": "Discord answered 500 after 3 attempts", "key": f"{INCIDENT}/discord/lost"}
    # A later run with the same key tries again: only delivered keys are skipped.
    double.call("DELETE", "/_faults")
    assert run("chat_message", service="discord", webhook_url=double.discord(), text="lost",
                      ledger=str(ledger), key=f"{INCIDENT}/discord/lost", retry=retry)["delivered"] is True


def test_unreachable_service_is_a_result(run, ledger):
    result = run("pagerduty_event", url=dead_url() + "/v2/enqueue", routing_key=LAB_PAGERDUTY_KEYS["on_call"],
                        action="resolve", dedup_key=INCIDENT, ledger=str(ledger), retry=dict(FAST, attempts=2))
    assert result["delivered"] is False and result["attempts"] == 2 and result["status"] is None
    assert result["error"].startswith("PagerDuty could not be reached (") and "127.0.0.1" not in result["error"]
    assert lines(ledger)[-1]["status"] is None


def test_rate_limit_retry_after_is_honoured_and_capped(double, run):
    args = dict(url=double.pagerduty, routing_key=LAB_PAGERDUTY_KEYS["engineering_lead"], action="acknowledge",
                dedup_key=INCIDENT)
    double.fault("pagerduty", 1, status=429, retry_after=1)
    honoured = run("pagerduty_event", **args, retry=dict(FAST, max_backoff_seconds=3))
    assert honoured["delivered"] is True and honoured["attempts"] == 2
    assert 0.95 <= honoured["elapsed_seconds"] < 2.5  # waited the Retry-After second, not the 0.05 s backoff
    double.fault("pagerduty", 1, status=429, retry_after=30)
    capped = run("pagerduty_event", **args, retry=dict(FAST, max_backoff_seconds=0.2))
    assert capped["delivered"] is True and capped["attempts"] == 2 and capped["elapsed_seconds"] < 1.5
    assert [c["answered"] for c in double.captured()] == [429, 202, 429, 202]


def test_a_timeout_is_retried(double, run, ledger):
    double.fault("statuspage", 1, timeout=True)
    result = run("statuspage", **double.statuspage, name="RPC slow", ledger=str(ledger),
                        key="INC-timeout/statuspage/opened", retry=dict(FAST, timeout_seconds=0.5))
    assert result["delivered"] is True and result["attempts"] == 2 and result["status"] == 201
    assert 0.5 <= result["elapsed_seconds"] < 2.5
    answered = wait_for(lambda: [c["answered"] for c in double.captured()] if all(
        c["answered"] for c in double.captured()) else None, what="the held request to be answered")
    assert answered == [504, 201]
    double.fault("slack", 5, timeout=True)
    gave_up = run("chat_message", service="slack", webhook_url=double.slack(), text="x",
                         retry=dict(FAST, attempts=2, timeout_seconds=0.3))
    assert gave_up["delivered"] is False and gave_up["error"] == "Slack timed out (0.3 s) after 2 attempts"


def test_check_mode_sends_and_records_nothing(double, run, ledger):
    chat = run("chat_message", check=True, service="slack", webhook_url=double.slack(), text="would post",
                      ledger=str(ledger), key=f"{INCIDENT}/slack/check")
    page = run("pagerduty_event", check=True, url=double.pagerduty, routing_key=LAB_PAGERDUTY_KEYS["cto"],
                      action="trigger", dedup_key=INCIDENT, summary="down", source="lab", severity="critical",
                      ledger=str(ledger), key=f"{INCIDENT}/pagerduty/check")
    status = run("statuspage", check=True, **double.statuspage, name="Halted", ledger=str(ledger),
                        key=f"{INCIDENT}/statuspage/check", components={LAB_COMPONENTS["rpc"]: "major_outage"})
    for result in (chat, page, status):
        assert result["changed"] is True and result["delivered"] is False and result["attempts"] == 0
        assert set(result) >= RESULT_KEYS
    assert chat["would_send"] == {"service": "slack", "action": "post", "chars": 10, "truncated": False,
                                  "username": None}
    assert page["would_send"]["action"] == "trigger" and page["would_send"]["severity"] == "critical"
    assert status["would_send"] == {"service": "statuspage", "action": "create", "incident_id": None,
                                    "status": "investigating", "components": 1, "name": "Halted"}
    assert double.captured() == [] and not ledger.exists() and not ledger.parent.exists()
    assert_no_secrets(json.dumps([chat, page, status]))


def test_secrets_appear_nowhere(double, run, ledger):
    """Every path (delivered, refused, retried, unreachable) against every service: no credential in the results
    (beyond Ansible's own no_log masking) or the ledger."""
    double.fault("slack", 1, status=500)
    double.fault("statuspage", 1, status=429)
    results = [
        run("chat_message", service="slack", webhook_url=double.slack("on_call"), text="a",
                   ledger=str(ledger), key="S/1", retry=FAST),
        run("chat_message", service="slack", webhook_url=double.url + "/slack/services/T0/B0/wrongsecret01",
                   text="a", ledger=str(ledger), key="S/2", retry=FAST),
        run("chat_message", service="discord",
                   webhook_url=double.url + f"/discord/api/webhooks/{LAB_DISCORD['incidents'][0]}/wrong-token-1234",
                   text="a", ledger=str(ledger), key="S/3", retry=FAST),
        run("chat_message", service="discord", webhook_url=dead_url() + "/discord/api/webhooks/1/" +
                   LAB_DISCORD["incidents"][1], text="a", ledger=str(ledger), key="S/4", retry=dict(FAST, attempts=1)),
        run("pagerduty_event", url=double.pagerduty, routing_key=LAB_PAGERDUTY_KEYS["partners"],
                   action="trigger", dedup_key="S", summary="a", source="b", severity="info", ledger=str(ledger),
                   key="S/5", retry=FAST),
        run("statuspage", **double.statuspage, name="S", ledger=str(ledger), key="S/6", retry=FAST),
    ]
    assert [r["status"] for r in results] == [200, 404, 401, None, 202, 201]
    assert "wrongsecret01" not in json.dumps(results) and "wrong-token-1234" not in json.dumps(results)
    assert_no_secrets(json.dumps(results), ledger.read_text())
    assert "wrongsecret01" not in ledger.read_text() and len(lines(ledger)) == 6
    assert all(set(e) >= {"time", "key", "service", "action", "delivered", "attempts", "status", "error"}
               for e in lines(ledger))
