"""Status updates on the catalog's cadence: an open incident's update goes to its channels and the status page
(the lab's comms double, over HTTP), never to PagerDuty; `--check` and `--due` before it is due send nothing;
`jeju-play serve` posts the update that falls due, once."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jeju_lab.recovery import rpc_serving
from tests.support import LabHandle, lab_secrets, run_cli, running_serve, secrets_in, wait_until

from .test_comms import captured, reset_double, step


def open_rpc_down_incident(lab: LabHandle) -> str:
    """rpc-down found reth at 0 replicas; nobody approved the scale-up (its gate timed out after 3 s): the
    incident stays open."""
    refused_rpc_down_run(lab)
    listed = run_cli("incidents", "--json")
    (incident,) = json.loads(listed.stdout)
    assert incident["status"] == "open" and incident["confirmed"], incident
    return str(incident["id"])


def refused_rpc_down_run(lab: LabHandle) -> tuple[subprocess.CompletedProcess[str], Path]:
    """A run of rpc-down on reth scaled to 0 whose scale-up gate nobody answers (it times out after 3 s)."""
    short_wait = lab.project / "inventories" / "local" / "group_vars" / "all" / "zz_test_gate_timeout.yml"
    short_wait.write_text("jeju_gate_timeout_seconds: 3\n")
    lab.lab.break_fault("reth-scaled-to-zero")
    try:
        wait_until(lambda: not rpc_serving(lab.lab).recovered, "the public RPC down")
        # its own record from its answer: an update it starts while it works is a run of its own in runs/
        done = run_cli("rpc-down", "-i", "local", "--json", env_extra=lab.env, timeout=240)
    finally:
        short_wait.unlink()
        lab.lab.heal()
    assert done.returncode == 4, done.stdout + done.stderr  # the gate was refused: nobody answered it
    return done, Path(json.loads(done.stdout)["record"])


def age(incidents_dir: Path, incident_id: str, minutes: int) -> None:
    """The incident as it is `minutes` later: its opening and every message sent that much earlier."""
    folder = incidents_dir / incident_id

    def earlier(stamp: str) -> str:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")) - timedelta(minutes=minutes)
        return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

    record = json.loads((folder / "incident.json").read_text())
    record["opened"] = earlier(record["opened"])
    (folder / "incident.json").write_text(json.dumps(record, indent=2))
    lines = [json.loads(line) for line in (folder / "comms.jsonl").read_text().splitlines() if line.strip()]
    (folder / "comms.jsonl").write_text("".join(json.dumps({**e, "time": earlier(e["time"])}) + "\n"
                                                for e in lines))


def update_outcomes(incident_id: str) -> list[str]:
    """The outcomes, sorted, of every status-update run of the incident in `jeju-play history`."""
    history = json.loads(run_cli("history", "--json").stdout)
    return sorted(r["outcome"] for r in history if r.get("incident_id") == incident_id
                  and r["playbook"] == "playbooks/comms/status-update.yml")


def test_an_open_incident_gets_its_update_by_hand_and_from_serve_when_due(lab: LabHandle, tmp_path: Path) -> None:
    reset_double(lab)
    incident_id = open_rpc_down_incident(lab)
    wait_until(lambda: rpc_serving(lab.lab).recovered, "the public RPC serving again", limit=60)
    opened = len(captured(lab))
    assert opened > 0, "the incident's opening told nobody"

    not_yet = run_cli("incidents", "update", incident_id, "--due")
    assert not_yet.returncode == 0, not_yet.stdout + not_yet.stderr
    assert f"No update of {incident_id} is due yet." in not_yet.stdout
    checked = run_cli("incidents", "update", incident_id, "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "nothing sent (check mode)" in checked.stdout
    assert len(captured(lab)) == opened, "--due before it is due, or --check, sent something"

    posted = run_cli("incidents", "update", incident_id)
    assert posted.returncode == 0, posted.stdout + posted.stderr
    update = captured(lab)[opened:]
    assert sorted(step(c) for c in update) == [("discord", "post"), ("slack", "post"),
                                               ("statuspage", "PATCH investigating")], update
    chat = next(c["body"] for c in update if c["service"] == "slack")["text"]
    assert f"update ({incident_id})" in chat and "Status: Investigating" in chat, chat
    assert "Actions taken:" in chat and "Next steps:" in chat and "ETA:" in chat, chat
    assert "Next update within 15 minutes." in chat, chat  # catalog.yml: rpc-down updates every 15m
    public = json.dumps([c["body"] for c in update if c["service"] == "statuspage"])
    assert "reth" not in public and "0x" not in public and "still working" in public, public

    age(tmp_path / "incidents", incident_id, minutes=16)
    due_before = json.loads(run_cli("incidents", "--json").stdout)
    assert [i["id"] for i in due_before] == [incident_id]
    with running_serve("local", state=tmp_path / "serve") as serve:
        wait_until(lambda: len(captured(lab)) >= opened + 6, "serve's status update delivered", limit=60)
        wait_until(lambda: f"update {incident_id}" in serve.output(), "serve saying it posted the update")
        # the update is a run of its own: its record says "sent" once it has ended, a moment after the messages
        wait_until(lambda: update_outcomes(incident_id) == ["checked", "sent", "sent"],
                   "serve's update recorded as sent", limit=60)
    again = captured(lab)[opened + 3:]
    assert sorted(step(c) for c in again) == [("discord", "post"), ("slack", "post"),
                                              ("statuspage", "PATCH investigating")], again
    after = run_cli("incidents", "update", incident_id, "--due")
    assert f"No update of {incident_id} is due yet." in after.stdout, after.stdout + after.stderr

    assert update_outcomes(incident_id) == ["checked", "sent", "sent"]

    # A run at work keeps the cadence too: the update falls due while the next run of the incident waits at its
    # gate, and goes out without serve (promise: every 15 minutes for P0, whoever is running).
    age(tmp_path / "incidents", incident_id, minutes=16)
    before = len(captured(lab))
    _done, record = refused_rpc_down_run(lab)
    started = [e for e in map(json.loads, (record / "events.jsonl").read_text().splitlines())
               if e.get("event") == "status_update_started"]
    assert [e["incident"] for e in started] == [incident_id], started
    wait_until(lambda: any(c["service"] == "slack" and f"update ({incident_id})" in c["body"]["text"]
                           for c in captured(lab)[before:]), "the run's status update in Slack", limit=60)
    wait_until(lambda: update_outcomes(incident_id) == ["checked", "sent", "sent", "sent"],
               "the run's update recorded as sent", limit=60)
    assert (record / "artifacts" / f"{incident_id}.updates.log").is_file()
    assert f"No update of {incident_id} is due yet." in run_cli("incidents", "update", incident_id,
                                                                "--due").stdout

    closed = run_cli("incidents", "close", incident_id, "--reason", "test over")
    assert closed.returncode == 0, closed.stderr
    refused = run_cli("incidents", "update", incident_id)
    assert refused.returncode == 2 and "gets no more updates" in refused.stderr, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    assert secrets_in(lab_secrets(lab), texts={"the terminal": posted.stdout + posted.stderr,
                                                "serve's output": serve.output()}) == []
