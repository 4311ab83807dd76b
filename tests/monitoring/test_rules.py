"""monitoring/: the rules match the catalog and their template, promtool checks and unit-tests them, and the
example and lab configs of Prometheus and Alertmanager load in the real tools."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from jeju_lab.monitoring import LabMonitoring, Target, render_rules, rule_alerts
from jeju_play import catalog, checks
from tests.support import ROOT

MONITORING = ROOT / "monitoring"
PROMTOOL, AMTOOL = shutil.which("promtool"), shutil.which("amtool")
INSTALL = "promtool/amtool missing: install Debian's prometheus and prometheus-alertmanager (make install)"


def tool(name: str | None) -> str:
    assert name, INSTALL
    return name


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_alerts_yml_is_the_production_render_of_the_template() -> None:
    assert (MONITORING / "alerts.yml").read_text() == render_rules(ROOT, "shared"), (
        "monitoring/alerts.yml is stale: python -m jeju_lab.monitoring rules > monitoring/alerts.yml")


def test_every_catalog_alert_has_a_rule_and_every_rule_an_incident() -> None:
    cat = catalog.load(ROOT)
    assert checks.alert_rules(ROOT, cat) == []
    rules = rule_alerts((MONITORING / "alerts.yml").read_text())
    assert set(rules) == {alert for incident in cat.incidents for alert in incident.alerts}
    for alert, rule in rules.items():
        assert rule["labels"]["incident"] == cat.by_alert(alert).name  # type: ignore[union-attr]
        assert rule["labels"]["environment"] == "{{ $externalLabels.environment }}"


def test_the_check_names_a_missing_and_an_unknown_rule(tmp_path: Path) -> None:
    (tmp_path / "monitoring").mkdir()
    text = (MONITORING / "alerts.yml").read_text().replace("alert: JejuRpcSlow", "alert: JejuRpcSluggish")
    (tmp_path / "monitoring" / "alerts.yml").write_text(text)
    problems = checks.alert_rules(tmp_path, catalog.load(ROOT))
    assert any("JejuRpcSlow (rpc-degraded) has no rule" in p for p in problems), problems
    assert any("JejuRpcSluggish is in no incident" in p for p in problems), problems


def test_promtool_checks_the_production_and_the_lab_rules(tmp_path: Path) -> None:
    lab_rules = tmp_path / "lab-alerts.yml"
    lab_rules.write_text(render_rules(ROOT, "local"))
    done = run(tool(PROMTOOL), "check", "rules", str(MONITORING / "alerts.yml"), str(lab_rules))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS: 20 rules found") == 2, done.stdout


def test_promtool_unit_tests_pass() -> None:
    files = sorted(str(p) for p in (MONITORING / "tests").glob("*_test.yml"))
    done = run(tool(PROMTOOL), "test", "rules", *files)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_is_tested_firing_and_silent() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in (MONITORING / "tests").glob("*_test.yml"):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test["alert_rule_test"]:
                (firing if case.get("exp_alerts") else silent).add(case["alertname"])
    alerts = set(rule_alerts((MONITORING / "alerts.yml").read_text()))
    assert alerts - firing == set(), "no test sees these fire"
    assert alerts - silent == set(), "no test sees these stay silent"


def test_the_alertmanager_example_loads_and_groups_by_alert_and_environment() -> None:
    done = run(tool(AMTOOL), "check-config", str(MONITORING / "alertmanager.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    config = yaml.safe_load((MONITORING / "alertmanager.yml").read_text())
    assert config["route"]["group_by"] == ["alertname", "environment"]
    receivers = {r["name"]: r for r in config["receivers"]}
    webhook = receivers["jeju-play-serve"]["webhook_configs"][0]
    assert webhook["http_config"]["authorization"]["type"] == "Bearer"
    assert "routing_key_file" in receivers["pagerduty"]["pagerduty_configs"][0]


def test_the_prometheus_example_loads(tmp_path: Path) -> None:
    # Debian's Prometheus is built without Kubernetes discovery: check the rest with static targets instead.
    text = (MONITORING / "prometheus.yml").read_text()
    if run(tool(PROMTOOL), "check", "config", "--syntax-only", str(MONITORING / "prometheus.yml")).returncode:
        text = re.sub(r"kubernetes_sd_configs:\n(\s+- role: \w+\n)(\s+namespaces:\n\s+names: \[\w[\w-]*\]\n)?",
                      "static_configs:\n            - targets: ['127.0.0.1:7300']\n", text)
    secrets = tmp_path / "serviceaccount"  # promtool checks that credential files exist
    secrets.mkdir()
    for name in ("token", "ca.crt"):
        (secrets / name).write_text("test\n")
    copy = tmp_path / "prometheus.yml"
    copy.write_text(text.replace("/var/run/secrets/kubernetes.io/serviceaccount", str(secrets)))
    shutil.copy(MONITORING / "alerts.yml", tmp_path / "alerts.yml")
    done = run(tool(PROMTOOL), "check", "config", str(copy))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 20 rules found" in done.stdout


def test_the_lab_configs_load_in_the_real_tools(tmp_path: Path) -> None:
    monitoring = LabMonitoring(tmp_path, ROOT)
    values = monitoring.values()
    monitoring.folder.mkdir(parents=True)
    monitoring.token_file.write_text("test-token")
    (monitoring.folder / "alertmanager.yml").write_text(yaml.safe_dump(monitoring.alertmanager_config(values)))
    targets = [Target("op-node", "127.0.0.1:7300"), Target("kubelet", "127.0.0.1:7301", honor_labels=True)]
    config = monitoring.prometheus_config(values, targets, "127.0.0.1:9093")
    assert config["global"]["external_labels"] == {"environment": "local"}
    (monitoring.folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    (monitoring.folder / "alerts.yml").write_text(render_rules(ROOT, "local"))
    done = run(tool(AMTOOL), "check-config", str(monitoring.folder / "alertmanager.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    done = run(tool(PROMTOOL), "check", "config", str(monitoring.folder / "prometheus.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    lab, example = (yaml.safe_load(path.read_text()) for path in (monitoring.folder / "alertmanager.yml",
                                                                   MONITORING / "alertmanager.yml"))
    assert lab["route"]["group_by"] == example["route"]["group_by"]
    assert lab["inhibit_rules"] == example["inhibit_rules"]


@pytest.mark.parametrize("environment", ["shared", "local"])
def test_rules_take_their_values_from_the_inventory(environment: str) -> None:
    from jeju_lab.monitoring import inventory_values

    values = inventory_values(ROOT, environment)
    rules = rule_alerts(render_rules(ROOT, environment))
    stall = values["jeju_thresholds"]["block_stall_seconds"]
    assert rules["JejuNoNewBlocks"]["expr"].rstrip().endswith(f"> {stall}")
    assert rules["JejuNoNewBlocks"]["for"] == values["jeju_alerts"]["for"]["JejuNoNewBlocks"]
    assert f"< {values['jeju_funding']['recipients']['batcher']['min_eth']}" in rules["JejuBatcherBalanceLow"]["expr"]


PAGED = "pagerduty,jeju-play-serve"


@pytest.mark.parametrize(("severity", "receivers"), [("P0", PAGED), ("P1", PAGED), ("P2", "jeju-play-serve")])
def test_every_alert_reaches_serve_and_p0_p1_page_the_on_call(severity: str, receivers: str) -> None:
    done = run(tool(AMTOOL), "config", "routes", "test", f"--config.file={MONITORING / 'alertmanager.yml'}",
               "alertname=JejuSomething", f"severity={severity}", "environment=mainnet")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == receivers


def test_the_lab_s_output_alert_keeps_firing_while_the_proposer_catches_up(tmp_path: Path) -> None:
    """The lab's proposer catching up after a stall: the newest output's age dips under the lab's 90 s, climbs
    back over it, dips again, then comes down for good. With the lab's keep_firing_for (30 s) the alert fires
    through the dips (no resolve and re-fire: the resolved notification would miss its run) and resolves once
    the age has stayed under 90 s for 30 s."""
    rules = tmp_path / "lab-alerts.yml"
    rules.write_text(render_rules(ROOT, "local"))
    assert rule_alerts(rules.read_text())["JejuNoOutputProposed"]["keep_firing_for"] == "30s"
    # One sample each 2 s of the newest output's L2 block time: none until 120 s (the age climbs to 118 s), an
    # output of 35 s (ages 85, 87, 89, 91), one of 40 s (88, 90, 92, 94), then one of 120 s (16 s and on).
    values = " ".join(["0"] * 60 + ["35"] * 4 + ["40"] * 4 + ["120"] * 30)
    firing = 'ALERTS{alertname="JejuNoOutputProposed", alertstate="firing"}'
    tests = tmp_path / "catch_up_test.yml"
    tests.write_text(yaml.safe_dump({
        "rule_files": [str(rules)], "evaluation_interval": "2s",
        "tests": [{
            "interval": "2s", "external_labels": {"environment": "local"},
            "input_series": [{"series": 'op_proposer_default_refs_time{layer="l2",type="proposed"}',
                              "values": values}],
            "promql_expr_test": [
                {"expr": f"count({firing}) or vector(0)", "eval_time": at, "exp_samples": [{"labels": "{}",
                                                                                            "value": count}]}
                for at, count in [("90s", 0), ("100s", 1), ("122s", 1), ("130s", 1), ("150s", 1), ("170s", 0)]
            ],
        }],
    }))
    done = run(tool(PROMTOOL), "test", "rules", str(tests))
    assert done.returncode == 0, done.stdout + done.stderr
