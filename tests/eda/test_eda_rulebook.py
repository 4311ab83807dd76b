"""The EDA rulebook (extensions/eda/rulebooks/alerts.yml) under the real ansible-rulebook (Drools, Java 17).

Alertmanager webhook notifications are replayed by the test-only stand-in for ansible.eda.alertmanager
(tests/eda/collections: the same arguments and event shape as the real plugin), and run_job_template talks to a
stand-in AWX controller on loopback (tests/eda/controller.py) that records every launch.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from jeju_play import catalog as catalog_mod
from tests.eda.controller import FakeController
from tests.support import ROOT

RULEBOOK = ROOT / "extensions" / "eda" / "rulebooks" / "alerts.yml"
STAND_IN = ROOT / "tests" / "eda" / "collections"
BIN = Path(sys.executable).parent
CATALOG = catalog_mod.load(ROOT)

needs_rulebook = pytest.mark.skipif(not (BIN / "ansible-rulebook").exists() or shutil.which("java") is None,
                                    reason="ansible-rulebook (dev extra) and Java 17 (bindep.txt, eda) are needed")


def alert(name: str, environment: str | None = "mainnet", status: str = "firing") -> dict:
    labels = {"alertname": name, "instance": "op-node.op-stack:7300", "severity": "page"}
    if environment is not None:
        labels["environment"] = environment
    return {"status": status, "labels": labels, "annotations": {"summary": name},
            "startsAt": "2026-12-01T03:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": f"{name}-{environment}"}


def notification(*alerts: dict, pause: float = 0) -> dict:
    """One Alertmanager webhook (version 4) POST, as the receiver gets it."""
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {"endpoint": "alerts", "pause": pause, "payload": {
        "version": "4", "groupKey": '{}:{alertname="x"}', "truncatedAlerts": 0, "status": status,
        "receiver": "jeju-eda", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093", "alerts": list(alerts)}}


def run_rulebook(tmp_path: Path, notifications: list[dict], rulebook: Path = RULEBOOK,
                 variables: dict | None = None) -> tuple[FakeController, str]:
    replay = tmp_path / "replay.jsonl"
    replay.write_text("".join(json.dumps(n) + "\n" for n in notifications))
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    command = [str(BIN / "ansible-rulebook"), "-r", str(rulebook), "-i", str(inventory), "--shutdown-delay", "5"]
    if variables:
        (tmp_path / "vars.yml").write_text(yaml.safe_dump(variables))
        command += ["--vars", str(tmp_path / "vars.yml")]
    controller = FakeController().start()
    try:
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(STAND_IN), JEJU_EDA_REPLAY=str(replay),
                   EDA_JOB_TEMPLATE_REFRESH_DELAY="0.1", PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
        env.pop("ANSIBLE_CONFIG", None)
        done = subprocess.run([*command, "--controller-url", controller.url, "--controller-token", "test-token"],
                              capture_output=True, text=True, env=env, timeout=180, check=False, cwd=tmp_path)
    finally:
        controller.stop()
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return controller, done.stdout


@needs_rulebook
def test_alerts_start_one_diagnosis_per_incident_and_environment(tmp_path: Path) -> None:
    down = CATALOG.by_alert("JejuNoNewBlocks")
    other = CATALOG.by_alert("JejuBatcherBalanceLow")
    manual = next((i for i in CATALOG.incidents if i.alerts and not i.automated), None)
    assert down is not None and other is not None and down.automated and other.automated
    assert len(down.alerts) >= 2, "network-down maps two alerts: both in one group start one run"
    group = notification(*(alert(name) for name in down.alerts))
    manual_alert = [notification(alert(manual.alerts[0]))] * 2 if manual else []
    controller, out = run_rulebook(tmp_path, [
        group,                                                     # one group, all of the incident's alerts
        group, group, group,                                       # Alertmanager repeats the notification
        notification(alert(down.alerts[0], "testnet")),            # the same incident elsewhere: its own run
        notification(alert(down.alerts[0], "local", status="resolved")),  # resolved: nothing
        notification(alert(other.alerts[-1])),                     # another incident on mainnet
        notification(alert("JejuSomethingNobodyKnows")),           # not in the catalog: nothing
        notification(alert(down.alerts[0], environment=None)),     # no environment label: nothing
        *manual_alert,                                             # not automated: said once, nothing launched
    ])
    assert Counter(controller.launched()) == {
        f"jeju mainnet {down.name} diagnose": 1,
        f"jeju testnet {down.name} diagnose": 1,
        f"jeju mainnet {other.name} diagnose": 1,
    }
    by_template = {launch.template: launch for launch in controller.launches}
    for incident in (down, other):
        extra = by_template[f"jeju mainnet {incident.name} diagnose"].extra_vars
        assert extra["jeju_incident"] == incident.for_playbook()
        assert extra["ansible_eda"]["event"]["alert"]["labels"]["environment"] == "mainnet"
    first = by_template[f"jeju mainnet {down.name} diagnose"].extra_vars["ansible_eda"]["event"]["alert"]
    assert first["labels"]["alertname"] == down.alerts[0]  # the first alert of the group won the throttle
    if manual:
        assert out.count(f"{manual.name} on mainnet ({manual.alerts[0]}) is not automated") == 1
        assert manual.runbook in out


@needs_rulebook
def test_the_throttle_reopens_after_its_window(tmp_path: Path) -> None:
    """The same grouping with a 2 s window: a repeat inside it starts nothing, one after it starts a new run."""
    fast = tmp_path / "alerts-fast.yml"
    text = RULEBOOK.read_text()
    assert "once_within: 15 minutes" in text
    fast.write_text(text.replace("once_within: 15 minutes", "once_within: 2 seconds"))
    down = CATALOG.by_alert("JejuNoNewBlocks")
    assert down is not None and down.update_every == "15m"
    controller, _out = run_rulebook(tmp_path, [
        notification(alert(down.alerts[0])),
        notification(alert(down.alerts[1]), pause=0.5),  # same incident and environment, inside the window
        notification(alert(down.alerts[0]), pause=3),    # after the window
    ], rulebook=fast, variables={"jeju_awx_organization": "Jeju"})
    assert controller.launched() == [f"jeju mainnet {down.name} diagnose"] * 2


def test_rulebook_is_generated_from_the_catalog() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "eda_rulebook.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rules = yaml.safe_load(RULEBOOK.read_text())[0]["rules"]
    with_alerts = [i for i in CATALOG.incidents if i.alerts]
    assert len(rules) == len(with_alerts)
    for incident, rule in zip(with_alerts, rules, strict=True):
        assert all(f'"{name}"' in rule["condition"] for name in incident.alerts), rule["name"]
        assert rule["throttle"]["group_by_attributes"] == ["event.alert.labels.environment"]
        action = rule["action"]
        if incident.automated:
            assert action["run_job_template"]["name"].endswith(f"{incident.name} diagnose")
            assert action["run_job_template"]["job_args"]["extra_vars"]["jeju_incident"] == incident.for_playbook()
        else:
            assert "debug" in action


def test_stand_in_source_puts_the_real_plugins_event_shape() -> None:
    sys.path.insert(0, str(STAND_IN / "ansible_collections" / "ansible" / "eda" / "extensions" / "eda" / "plugins"
                           / "event_source"))
    try:
        import alertmanager  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    payload = notification(alert("JejuNoNewBlocks"), alert("JejuRpcDown", "testnet"))["payload"]
    events = alertmanager.events_for(payload, "alerts", {})
    assert [sorted(e) for e in events] == [["meta", "payload"], ["alert", "meta"], ["alert", "meta"]]
    assert events[0]["meta"]["endpoint"] == "alerts" and events[0]["payload"] == payload
    assert events[1]["alert"] == payload["alerts"][0] and events[1]["meta"]["hosts"] == ["op-node.op-stack"]
    skipped = alertmanager.events_for(payload, "alerts", {"skip_original_data": True, "data_host_path": ""})
    assert [e["meta"]["hosts"] for e in skipped] == [[], []]
    assert alertmanager.events_for({"alerts": []}, "alerts", {"skip_original_data": True}) == []
