"""`jeju-play serve` straight through its HTTP endpoints, with Alertmanager v4 payloads, against the fixture
project's real playbooks: storm control, bad payloads, the breaker, a restart mid-run, approvals and their tokens.
What a user sees is asserted: the runs recorded, their summaries and gates, serve's answers and its state."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import ServeHandle, commit_project, recorded_runs, run_cli, running_serve

WEBHOOK = {"lab": "webhook-token-of-lab-7f3a", "prod": "webhook-token-of-prod-7f3a"}
APPROVAL = {"lab": "approval-token-of-lab-91c2", "prod": "approval-token-of-prod-91c2"}


def notification(*alerts: dict[str, Any], status: str = "firing", group: str = "DemoAlert") -> dict[str, Any]:
    """An Alertmanager webhook notification (version 4), as Alertmanager 0.25 sends it."""
    return {"version": "4", "groupKey": f'{{}}:{{alertname="{group}"}}', "truncatedAlerts": 0, "status": status,
            "receiver": "jeju-play-serve", "groupLabels": {"alertname": group}, "commonLabels": {},
            "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093", "alerts": list(alerts)}


def alert(name: str = "DemoAlert", environment: str = "lab", fingerprint: str = "f00d", status: str = "firing",
          **labels: str) -> dict[str, Any]:
    return {"status": status, "labels": {"alertname": name, "environment": environment, **labels},
            "annotations": {"summary": f"{name} on {environment}"}, "startsAt": "2026-12-01T03:00:00.000Z",
            "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-01T03:05:00.000Z",
            "generatorURL": "http://127.0.0.1:9090/graph", "fingerprint": fingerprint}


def wait(condition: Callable[[], Any], what: str, limit: float = 60.0) -> Any:
    deadline = time.monotonic() + limit
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {limit:.0f} s: {what}")
        time.sleep(0.1)
    return value


def summary_of(runs_dir: Path, run_id: str) -> dict[str, Any]:
    path = runs_dir / run_id / "summary.json"
    return json.loads(path.read_text()) if path.exists() else {}


def waiting_gate(runs_dir: Path, run_id: str) -> list[Path]:
    return sorted((runs_dir / run_id / "gates").glob("*.pending.json"))


def ended(serve: ServeHandle, run_id: str) -> dict[str, Any] | None:
    return next((r for r in serve.served_runs() if r["run_id"] == run_id and r["ended"] is not None), None)


def set_gate_timeout(project: Path, environment: str, seconds: int) -> None:
    path = project / "inventories" / environment / "group_vars" / "all" / "vars.yml"
    path.write_text(path.read_text().replace("jeju_gate_timeout_seconds: 2", f"jeju_gate_timeout_seconds: {seconds}"))


@pytest.fixture
def serve(project: Path, runs_dir: Path, tmp_path: Path) -> Any:
    set_gate_timeout(project, "lab", 120)
    set_gate_timeout(project, "prod", 120)
    commit_project(project)  # production runs only reviewed content
    with running_serve("lab", "prod", state=tmp_path / "serve") as handle:
        yield handle


def test_one_group_of_five_alerts_is_one_run_and_ten_repeats_join_it(serve: ServeHandle, runs_dir: Path) -> None:
    group = notification(*(alert(fingerprint=f"f{n}", instance=f"i{n}") for n in range(5)))
    status, answer = serve.request("POST", "/alertmanager", group, WEBHOOK["lab"])
    assert status == 200 and [d["action"] for d in answer["decisions"]] == ["start"]
    run_id = answer["decisions"][0]["run_id"]
    for _ in range(10):
        status, answer = serve.request("POST", "/alertmanager", group, WEBHOOK["lab"])
        assert status == 200 and [d["action"] for d in answer["decisions"]] == ["join"]
        assert answer["decisions"][0]["run_id"] == run_id
    wait(lambda: waiting_gate(runs_dir, run_id), "the run waiting at its gate")
    assert [p.name for p in recorded_runs(runs_dir)] == [run_id]
    recorded = summary_of(runs_dir, run_id)
    assert recorded["origin"] == "alert" and recorded["who"].startswith("jeju-play serve")
    assert sorted(a["fingerprint"] for a in recorded["alerts"]) == [f"f{n}" for n in range(5)]

    resolved = notification(*(alert(fingerprint=f"f{n}", status="resolved") for n in range(5)), status="resolved")
    status, answer = serve.request("POST", "/alertmanager", resolved, WEBHOOK["lab"])
    assert [(d["action"], d.get("run_id")) for d in answer["decisions"]] == [("record", run_id)]

    status, answer = serve.request("POST", "/approve", {"run_id": run_id, "who": "alice"}, APPROVAL["lab"])
    assert status == 200, answer
    assert wait(lambda: ended(serve, run_id), "the run ended")["outcome"] == "verified"
    recorded = summary_of(runs_dir, run_id)
    assert recorded["exit_code"] == 0
    assert recorded["gates"][0]["answer"]["who"] == "alice"
    assert recorded["gates"][0]["answer"]["how"] == "approved with the approval endpoint"
    notes = [json.loads(line) for line in (runs_dir / run_id / "notifications.jsonl").read_text().splitlines()]
    assert [n["event"] for n in notes] == ["joined"] * 10 + ["resolved"]
    assert [p.name for p in recorded_runs(runs_dir)] == [run_id]  # the resolved notification started nothing
    shown = run_cli("runs", "show", run_id)
    assert "started by 5 alert(s): DemoAlert (since 2026-12-01T03:00:00.000Z)" in shown.stdout, shown.stdout


def test_resolved_alone_and_unknown_alerts_start_nothing(serve: ServeHandle, runs_dir: Path) -> None:
    status, answer = serve.request("POST", "/alertmanager", notification(alert(status="resolved"), status="resolved"),
                                   WEBHOOK["lab"])
    assert status == 200 and answer["decisions"][0]["action"] == "record"
    odd = notification(alert(name="SomethingElse"), alert(environment="staging"),
                       {**alert(), "labels": {"alertname": "DemoAlert"}})
    status, answer = serve.request("POST", "/alertmanager", odd, WEBHOOK["lab"])
    assert status == 200
    reasons = [d["reason"] for d in answer["decisions"]]
    assert [d["action"] for d in answer["decisions"]] == ["ignore"] * 3
    assert "no incident in catalog.yml has the alert SomethingElse" in reasons[0]
    assert "environment staging is not served here" in reasons[1]
    assert "no `environment` label" in reasons[2]
    assert recorded_runs(runs_dir) == []
    logged = (serve.state / "notifications.jsonl").read_text()
    assert "SomethingElse" in logged and "staging" in logged


def test_two_environments_are_two_runs_and_a_token_acts_for_its_own(serve: ServeHandle, runs_dir: Path) -> None:
    both = notification(alert(environment="lab", fingerprint="a"), alert(environment="prod", fingerprint="b"))
    _, answer = serve.request("POST", "/alertmanager", both, WEBHOOK["lab"])
    actions = {d["alerts"][0]: (d["action"], d["reason"]) for d in answer["decisions"]}
    assert actions["DemoAlert/a"][0] == "start"
    assert actions["DemoAlert/b"] == ("ignore", "the webhook's token is not prod's")
    _status, answer = serve.request("POST", "/alertmanager", notification(alert(environment="prod", fingerprint="b")),
                                   WEBHOOK["prod"])
    assert [d["action"] for d in answer["decisions"]] == ["start"]
    runs = wait(lambda: len(recorded_runs(runs_dir)) == 2 and recorded_runs(runs_dir), "two runs recorded")
    # A run's folder exists before its summary: wait for both summaries, not only for the folders.
    wait(lambda: all(summary_of(runs_dir, r.name).get("environment") for r in runs), "both runs summarised")
    assert sorted(summary_of(runs_dir, r.name)["environment"] for r in runs) == ["lab", "prod"]


@pytest.mark.parametrize(("body", "headers", "status", "says"), [
    (b"{not json", {}, 400, "not JSON"),
    (json.dumps({**notification(alert()), "version": "3"}).encode(), {}, 400, "version '3'"),
    (json.dumps({**notification(alert()), "alerts": []}).encode(), {}, 400, "non-empty list"),
    (json.dumps(notification({**alert(), "fingerprint": ""})).encode(), {}, 400, "lacks `fingerprint`"),
    (b"{}", {"Content-Length": str(2 << 20)}, 413, "at most 1048576"),
])
def test_a_malformed_notification_is_refused_and_starts_nothing(serve: ServeHandle, runs_dir: Path, body: bytes,
                                                                 headers: dict[str, str], status: int,
                                                                 says: str) -> None:
    if "Content-Length" in headers:  # announce a body over the limit; serve answers before reading it
        import http.client

        connection = http.client.HTTPConnection(serve.url.removeprefix("http://"), timeout=10)
        connection.putrequest("POST", "/alertmanager")
        connection.putheader("Authorization", f"Bearer {WEBHOOK['lab']}")
        connection.putheader("Content-Length", headers["Content-Length"])
        connection.endheaders()
        response = connection.getresponse()
        got, answer = response.status, json.loads(response.read())
    else:
        got, answer = serve.request("POST", "/alertmanager", body, WEBHOOK["lab"])
    assert got == status and says in answer["error"], answer
    assert recorded_runs(runs_dir) == [] and serve.served_runs() == []
    assert serve.request("GET", "/healthz")[1]["ok"] is True


def test_a_webhook_without_the_token_is_unauthorized(serve: ServeHandle, runs_dir: Path) -> None:
    for token in (None, "wrong", APPROVAL["lab"]):
        status, answer = serve.request("POST", "/alertmanager", notification(alert()), token)
        assert status == 401 and "bearer token" in answer["error"]
    assert recorded_runs(runs_dir) == []


def test_the_breaker_stops_automatic_runs_and_says_so(project: Path, runs_dir: Path, tmp_path: Path) -> None:
    shared = project / "inventories" / "lab" / "group_vars" / "all" / "vars.yml"
    shared.write_text(shared.read_text() + "jeju_serve:\n  breaker_runs: 2\n  breaker_window: 1h\n")
    catalog = project / "catalog.yml"
    catalog.write_text(catalog.read_text().replace("    alerts: []\n    summary: Verification fails.",
                                                   "    alerts: [DemoFails]\n    summary: Verification fails.")
                       .replace("    alerts: []\n    summary: Escalates.", "    alerts: [DemoEscalates]\n"
                                "    summary: Escalates."))
    with running_serve("lab", state=tmp_path / "serve") as serve:
        decided = []
        for name in ("DemoAlert", "DemoFails", "DemoEscalates"):  # one after the other: one run at a time
            _status, answer = serve.request("POST", "/alertmanager", notification(alert(name=name), group=name),
                                            WEBHOOK["lab"])
            decided.append(answer["decisions"][0])
            if decided[-1].get("run_id"):
                wait(lambda: ended(serve, decided[-1]["run_id"]), f"run {decided[-1]['run_id']} ended")
        assert [d["action"] for d in decided] == ["start", "start", "refuse"]
        assert "circuit breaker open on lab: 2 runs started by alerts within 60 min" in decided[2]["reason"]
        assert serve.request("GET", "/runs")[1]["breakers"]["lab"].startswith("circuit breaker open")
        assert "refuse demo-escalate on lab: circuit breaker open" in wait(
            lambda: "circuit breaker" in serve.output() and serve.output(), "serve saying so")
        assert len(recorded_runs(runs_dir)) == 2


def test_paused_serve_records_alerts_and_starts_nothing_until_resumed(project: Path, runs_dir: Path,
                                                                      tmp_path: Path) -> None:
    with running_serve("lab", state=tmp_path / "serve", extra_args=("--paused",)) as serve:
        _, answer = serve.request("POST", "/alertmanager", notification(alert()), WEBHOOK["lab"])
        assert answer["decisions"][0]["action"] == "refuse" and "serve is paused" in answer["decisions"][0]["reason"]
        assert recorded_runs(runs_dir) == []
        assert serve.request("POST", "/resume", {}, "wrong")[0] == 401
        assert serve.request("POST", "/resume", {}, APPROVAL["lab"])[0] == 200
        _status, answer = serve.request("POST", "/alertmanager", notification(alert()), WEBHOOK["lab"])
        assert answer["decisions"][0]["action"] == "start"
        assert serve.request("POST", "/pause", {"reason": "maintenance"}, APPROVAL["lab"])[1]["paused"]["reason"] \
            == "maintenance"
        assert serve.request("GET", "/healthz")[1]["paused"] is True


def test_a_restarted_serve_knows_its_running_run(project: Path, runs_dir: Path, tmp_path: Path) -> None:
    set_gate_timeout(project, "lab", 120)
    with running_serve("lab", state=tmp_path / "serve2") as first:
        _, answer = first.request("POST", "/alertmanager", notification(alert()), WEBHOOK["lab"])
        run_id = answer["decisions"][0]["run_id"]
        wait(lambda: waiting_gate(runs_dir, run_id), "the run waiting at its gate")
        first.process.send_signal(signal.SIGTERM)
        first.process.wait(timeout=20)
        assert f"still running: {run_id}" in first.output()
        with running_serve("lab", state=tmp_path / "serve2") as second:
            assert second.request("GET", "/healthz")[1]["running"] == [run_id]
            _status, answer = second.request("POST", "/alertmanager", notification(alert()), WEBHOOK["lab"])
            assert [(d["action"], d.get("run_id")) for d in answer["decisions"]] == [("join", run_id)]
            approved = run_cli("approve", run_id)
            assert approved.returncode == 0, approved.stdout + approved.stderr
            assert "The run took the answer." in approved.stdout
            assert wait(lambda: ended(second, run_id), "the run ended")["outcome"] == "verified"


def test_approvals_need_the_run_environments_token_and_production_its_name(serve: ServeHandle,
                                                                           runs_dir: Path) -> None:
    status, answer = serve.request("POST", "/alertmanager", notification(alert(environment="prod")), WEBHOOK["prod"])
    run_id = answer["decisions"][0]["run_id"]
    wait(lambda: waiting_gate(runs_dir, run_id), "the run waiting at its gate")
    for token, code in ((None, 401), ("wrong", 401), (APPROVAL["lab"], 403)):
        status, answer = serve.request("POST", "/approve", {"run_id": run_id}, token)
        assert status == code, answer
    status, answer = serve.request("POST", "/approve", {"run_id": run_id}, APPROVAL["prod"])
    assert status == 403 and "prod is production: an approval names it" in answer["error"]
    assert waiting_gate(runs_dir, run_id), "a refused approval answered the gate"
    refusals = [json.loads(line) for line in (serve.state / "notifications.jsonl").read_text().splitlines()
                if '"answer"' in line]
    assert len(refusals) == 4 and all(r["result"].startswith("refused") for r in refusals)
    status, answer = serve.request("POST", "/deny", {"run_id": run_id}, APPROVAL["prod"])
    assert status == 400 and "a denial says why" in answer["error"]
    status, answer = serve.request("POST", "/approve", {"run_id": run_id, "environment": "prod", "who": "bob"},
                                   APPROVAL["prod"])
    assert status == 200, answer
    assert wait(lambda: ended(serve, run_id), "the run ended")["outcome"] == "verified"
    text = (serve.state / "notifications.jsonl").read_text() + serve.output()
    assert all(secret not in text for secret in (*WEBHOOK.values(), *APPROVAL.values()))


def test_a_denied_gate_stops_the_run_and_an_unanswered_one_escalates(project: Path, runs_dir: Path,
                                                                     tmp_path: Path) -> None:
    set_gate_timeout(project, "prod", 120)  # lab keeps the fixture's 2 s: nobody answers it
    commit_project(project)
    with running_serve("lab", "prod", state=tmp_path / "serve") as serve:
        _, answer = serve.request("POST", "/alertmanager", notification(alert(environment="prod")),
                                       WEBHOOK["prod"])
        denied_id = answer["decisions"][0]["run_id"]
        _status, answer = serve.request("POST", "/alertmanager", notification(alert()), WEBHOOK["lab"])
        lonely_id = answer["decisions"][0]["run_id"]
        wait(lambda: waiting_gate(runs_dir, denied_id), "the prod run waiting at its gate")
        denied = run_cli("deny", denied_id, "--reason", "the change window is closed")
        assert denied.returncode == 0, denied.stdout + denied.stderr
        assert wait(lambda: ended(serve, denied_id), "the denied run ended")["exit_code"] == 4
        gate = summary_of(runs_dir, denied_id)["gates"][0]["answer"]
        assert gate["how"] == "denied with jeju-play deny: the change window is closed"
        lonely = wait(lambda: ended(serve, lonely_id), "the unanswered run ended")
        assert (lonely["outcome"], lonely["exit_code"]) == ("escalated", 3)
        recorded = summary_of(runs_dir, lonely_id)
        assert recorded["message"].startswith("Escalated: nobody answered the gate 'Write the marker file'")
        assert recorded["escalation"]["level"] == 2
        assert not (runs_dir / lonely_id / "artifacts" / "remediated.txt").exists()
        assert list((runs_dir / lonely_id / "gates").glob("*.pending.json")) == []


def drain_with_a_run_at_its_gate(serve: ServeHandle, runs_dir: Path) -> str:
    """An alert starts a run; once it waits at its gate, SIGTERM: serve drains. Returns the run's id."""
    _, answer = serve.request("POST", "/alertmanager", notification(alert()), WEBHOOK["lab"])
    run_id = str(answer["decisions"][0]["run_id"])
    wait(lambda: waiting_gate(runs_dir, run_id), "the run waiting at its gate")
    serve.process.send_signal(signal.SIGTERM)
    wait(lambda: serve.request("GET", "/healthz")[1].get("draining"), "serve draining")
    return run_id


def test_a_draining_serve_takes_no_alert_keeps_its_run_and_stops_when_it_ends(project: Path, runs_dir: Path,
                                                                              tmp_path: Path) -> None:
    """In a Pod the runs end with serve: with --drain, SIGTERM leaves serve answering (healthz says draining) but
    refusing notifications (503: Alertmanager sends them to the next serve) until its run has ended."""
    set_gate_timeout(project, "lab", 120)
    with running_serve("lab", state=tmp_path / "serve", extra_args=("--drain", "60")) as serve:
        run_id = drain_with_a_run_at_its_gate(serve, runs_dir)
        status, body = serve.request("POST", "/alertmanager", notification(alert(fingerprint="beef")),
                                     WEBHOOK["lab"])
        assert status == 503 and "Alertmanager sends it again" in body["error"]
        assert serve.process.poll() is None and serve.request("GET", "/healthz")[1]["running"] == [run_id]
        denied = run_cli("deny", run_id, "--reason", "the node is being replaced")
        assert denied.returncode == 0, denied.stdout + denied.stderr
        assert serve.process.wait(timeout=30) == 0
    assert summary_of(runs_dir, run_id)["exit_code"] == 4
    said = serve.output()
    assert f"draining: no new alerts; waiting up to 60 s for {run_id}" in said and "drained: every run ended" in said


def test_a_second_sigterm_stops_a_draining_serve_at_once(project: Path, runs_dir: Path, tmp_path: Path) -> None:
    set_gate_timeout(project, "lab", 120)
    with running_serve("lab", state=tmp_path / "serve", extra_args=("--drain", "600")) as serve:
        run_id = drain_with_a_run_at_its_gate(serve, runs_dir)
        serve.process.send_signal(signal.SIGTERM)
        assert serve.process.wait(timeout=20) == 0
        assert f"serve stopped; still running: {run_id}" in serve.output()
        run_cli("deny", run_id, "--reason", "test over")  # the run goes on in its own session: end it


def test_approve_says_what_is_wrong(project: Path, runs_dir: Path) -> None:
    result = run_cli("approve", "no-such-run")
    assert result.returncode == 2 and "No run 'no-such-run'" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("deny", "no-such-run")
    assert result.returncode == 2 and "A denial says why" in result.stderr
    result = run_cli("serve")
    assert result.returncode == 2 and "Name the environments to serve" in result.stderr
    result = run_cli("serve", "-i", "lab", "--listen", "nowhere")
    assert result.returncode == 2 and "expected HOST:PORT" in result.stderr


def test_serve_without_listen_listens_at_the_environments_address_and_they_must_agree(
        project: Path, runs_dir: Path, tmp_path: Path) -> None:
    from jeju_lab.anvil import free_port

    ports = sorted(free_port() for _ in range(2))
    for environment, port in zip(("lab", "prod"), ports, strict=True):
        path = project / "inventories" / environment / "group_vars" / "all" / "vars.yml"
        path.write_text(path.read_text() + f"jeju_serve_listen: 127.0.0.1:{port}\n")
    result = run_cli("serve", "-i", "lab", "-i", "prod")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert (f"listen at different addresses (127.0.0.1:{ports[0]}, 127.0.0.1:{ports[1]}, their jeju_serve_listen): "
            "say where with --listen HOST:PORT") in " ".join(result.stderr.split())
    with running_serve("lab", state=tmp_path / "serve", listen=None) as handle:
        assert handle.url == f"http://127.0.0.1:{ports[0]}" and handle.request("GET", "/healthz")[0] == 200


def test_a_run_killed_mid_way_does_not_take_serve_down_and_the_next_alert_starts_another(
        serve: ServeHandle, runs_dir: Path) -> None:
    import os

    _, answer = serve.request("POST", "/alertmanager", notification(alert()), WEBHOOK["lab"])
    run_id = answer["decisions"][0]["run_id"]
    wait(lambda: waiting_gate(runs_dir, run_id), "the run waiting at its gate")
    pid = next(r["pid"] for r in serve.served_runs() if r["run_id"] == run_id)
    os.killpg(pid, signal.SIGKILL)
    died = wait(lambda: ended(serve, run_id), "serve noticing the run died")
    assert died["outcome"] == "died without a verdict" and died["exit_code"] is None
    assert serve.request("GET", "/healthz") == (200, {"ok": True, "paused": False, "running": [], "draining": False,
                                                      "environments": ["lab", "prod"]})
    assert f"ended  demo-ok on lab: run {run_id} died without a verdict" in serve.output()
    _, answer = serve.request("POST", "/alertmanager", notification(alert()), WEBHOOK["lab"])
    assert answer["decisions"][0]["action"] == "start" and answer["decisions"][0]["run_id"] != run_id
