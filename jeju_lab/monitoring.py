"""The lab's monitoring: its alert rules rendered from monitoring/alerts.yml.j2, and a real Prometheus and
Alertmanager (Debian's `prometheus` and `prometheus-alertmanager`) on loopback, data under the lab folder.

The rules come from one template and two sets of values: monitoring/alerts.yml is the production render
(inventories/shared), the lab renders its own with inventories/local at start. Incident, severity and runbook
labels come from catalog.yml. `python -m jeju_lab.monitoring rules [-i ENV]` prints a render.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from jeju_lab.anvil import free_port, pid_alive, stop_pid
from jeju_play import catalog as catalog_module
from jeju_play.errors import LabError
from jeju_play.paths import PACKAGE_DIR, project_root

PROMETHEUS = "prometheus"
ALERTMANAGER = ("prometheus-alertmanager", "alertmanager")  # Debian's name first, upstream's second
PACKAGES = "prometheus prometheus-alertmanager"
RULES_TEMPLATE = "alerts.yml.j2"
PRODUCTION = "shared"  # the inventory whose values monitoring/alerts.yml holds
LAB_INVENTORY = "local"
READY_TIMEOUT_SECONDS = 20.0


def monitoring_dir(root: Path | None = None) -> Path:
    """monitoring/ of the project tree, else of the checkout this package runs from (test projects lack it)."""
    for base in (root or project_root(), PACKAGE_DIR.parent):
        if (base / "monitoring" / RULES_TEMPLATE).is_file():
            return base / "monitoring"
    raise LabError(f"monitoring/{RULES_TEMPLATE} not found under {root or project_root()}.")


def inventory_values(root: Path, environment: str) -> dict[str, Any]:
    """group_vars/all of inventories/shared, then of the environment's (its values win), as Ansible reads them."""
    names = [PRODUCTION] if environment == PRODUCTION else [PRODUCTION, environment]
    values: dict[str, Any] = {}
    for name in names:
        folder = root / "inventories" / name / "group_vars" / "all"
        for path in sorted(folder.glob("*.yml")):
            if path.read_bytes().startswith(b"$ANSIBLE_VAULT"):
                continue
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if isinstance(data, dict):
                values.update(data)
    return values


def render_rules(root: Path, environment: str = PRODUCTION) -> str:
    """monitoring/alerts.yml.j2 rendered with an inventory's values and the catalog's alert mapping."""
    cat = catalog_module.load(root)

    def entry(alert: str) -> catalog_module.Incident:
        incident = cat.by_alert(alert)
        if incident is None:
            raise LabError(f"{RULES_TEMPLATE} has a rule for {alert}, which no incident in catalog.yml lists.")
        return incident

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(monitoring_dir(root))), undefined=jinja2.StrictUndefined,
        variable_start_string="<<", variable_end_string=">>", block_start_string="<%", block_end_string="%>",
        comment_start_string="<#", comment_end_string="#>", trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, autoescape=False,  # noqa: S701 (YAML, not HTML)
    )
    env.globals.update(incident=lambda alert: entry(alert).name, severity=lambda alert: entry(alert).severity,
                       runbook=lambda alert: entry(alert).runbook)
    try:
        return env.get_template(RULES_TEMPLATE).render(inventory=environment, **inventory_values(root, environment))
    except jinja2.UndefinedError as exc:
        raise LabError(f"{RULES_TEMPLATE} with inventories/{environment}: {exc} (see its monitoring.yml).") from exc


def rule_alerts(rules_text: str) -> dict[str, dict[str, Any]]:
    """Alert name -> its rule, from a rules file."""
    data = yaml.safe_load(rules_text) or {}
    return {rule["alert"]: rule for group in data.get("groups", []) for rule in group.get("rules", [])
            if "alert" in rule}


def binary(names: tuple[str, ...] | str) -> str | None:
    for name in (names,) if isinstance(names, str) else names:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass(frozen=True)
class Target:
    """One scrape job of the lab: a loopback address and the path its metrics are on."""

    job: str
    address: str
    metrics_path: str = "/metrics"
    honor_labels: bool = False  # kube-state-metrics, cAdvisor and the kubelet name the pods themselves


@dataclass
class Server:
    """One Prometheus or Alertmanager process on loopback; `ready()` asks its /-/ready."""

    name: str
    argv: list[str]
    port: int
    log_path: Path
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        with self.log_path.open("ab") as log:
            process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        self.pid = process.pid
        return self

    def alive(self) -> bool:
        return self.pid is not None and pid_alive(self.pid)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=0.5) as response:  # noqa: S310 (loopback)
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.pid is not None:
            stop_pid(self.pid)
            self.pid = None


@dataclass
class LabMonitoring:
    """The lab's Prometheus and Alertmanager: configs and data under <lab>/monitoring, started by the supervisor."""

    lab: Path
    root: Path = field(default_factory=project_root)
    environment: str = LAB_INVENTORY  # the inventory whose values the lab's rules and configs take (local-K too)
    servers: dict[str, Server] = field(default_factory=dict)
    problem: str = ""  # why monitoring is not running (not installed)

    @property
    def folder(self) -> Path:
        return self.lab / "monitoring"

    @property
    def token_file(self) -> Path:
        return self.folder / "serve-token"

    @property
    def serve_listen(self) -> str:
        """HOST:PORT where Alertmanager sends its webhooks (`jeju-play serve -i local` listens there): a free
        loopback port picked at the first start and kept across restarts, so that a running serve keeps hearing."""
        kept = self.folder / "serve-listen"
        if not kept.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            kept.write_text(f"127.0.0.1:{free_port()}\n")
        return kept.read_text().strip()

    def values(self) -> dict[str, Any]:
        return inventory_values(self.root, self.environment)

    def start(self, targets: list[Target]) -> LabMonitoring:
        """Write the configs and start both servers (not waiting for them: `wait_ready`)."""
        prometheus, alertmanager = binary(PROMETHEUS), binary(ALERTMANAGER)
        if prometheus is None or alertmanager is None:
            self.problem = f"not installed: apt-get install {PACKAGES} (make install does)"
            return self
        values = self.values()
        self.folder.mkdir(parents=True, exist_ok=True)
        # A new lab is a new world: a previous lab's series (its op-node target, up, for 5 minutes after a
        # restart, as Prometheus writes no stale markers on shutdown) would hold alerts off, and its Alertmanager's
        # notification log would keep a re-fired alert from being sent.
        shutil.rmtree(self.folder / "data", ignore_errors=True)
        (self.folder / "alerts.yml").write_text(render_rules(self.root, self.environment))
        if not self.token_file.exists():
            self.token_file.write_text(secrets.token_urlsafe(24))
            self.token_file.chmod(0o600)
        am_port, prom_port = free_port(), free_port()
        (self.folder / "alertmanager.yml").write_text(yaml.safe_dump(self.alertmanager_config(values)))
        (self.folder / "prometheus.yml").write_text(
            yaml.safe_dump(self.prometheus_config(values, targets, f"127.0.0.1:{am_port}"), sort_keys=False))
        self.servers = {
            "alertmanager": Server("alertmanager", [
                alertmanager, f"--config.file={self.folder / 'alertmanager.yml'}",
                f"--storage.path={self.folder / 'data' / 'alertmanager'}",
                f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=", "--log.level=warn",
            ], am_port, self.lab / "alertmanager.log"),
            "prometheus": Server("prometheus", [
                prometheus, f"--config.file={self.folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.folder / 'data' / 'prometheus'}", "--storage.tsdb.retention.time=1d",
                f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn",
            ], prom_port, self.lab / "prometheus.log"),
        }
        for server in self.servers.values():
            server.start()
        return self

    def alertmanager_config(self, values: dict[str, Any]) -> dict[str, Any]:
        """The lab's Alertmanager: the example's grouping and inhibitions, lab-speed timings, one webhook to serve."""
        example = yaml.safe_load((monitoring_dir(self.root) / "alertmanager.yml").read_text())
        lab = values["jeju_lab_monitoring"]
        return {
            "route": {"receiver": "jeju-play-serve", "group_by": example["route"]["group_by"],
                      "group_wait": lab["group_wait"], "group_interval": lab["group_interval"],
                      "repeat_interval": lab["repeat_interval"]},
            "inhibit_rules": example.get("inhibit_rules", []),
            "receivers": [{"name": "jeju-play-serve", "webhook_configs": [{
                "url": f"http://{self.serve_listen}/alertmanager", "send_resolved": True,
                "http_config": {"authorization": {"type": "Bearer", "credentials_file": str(self.token_file)}},
            }]}],
        }

    @staticmethod
    def prometheus_config(values: dict[str, Any], targets: list[Target], alertmanager: str) -> dict[str, Any]:
        lab = values["jeju_lab_monitoring"]
        return {
            "global": {"scrape_interval": lab["scrape_interval"], "scrape_timeout": lab["scrape_timeout"],
                       "evaluation_interval": lab["evaluation_interval"],
                       "external_labels": {"environment": values["jeju_environment"]}},
            "rule_files": ["alerts.yml"],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
            "scrape_configs": [
                {"job_name": t.job, "metrics_path": t.metrics_path, "honor_labels": t.honor_labels,
                 "static_configs": [{"targets": [t.address]}]} for t in targets
            ],
        }

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        pending = dict(self.servers)
        while pending:
            for name, server in list(pending.items()):
                if not server.alive():
                    raise LabError(f"{name} exited at start; see {server.log_path}")
                if server.ready():
                    pending.pop(name)
            if pending and time.monotonic() > deadline:
                raise LabError(f"{', '.join(pending)} not ready within {timeout:.0f} s; see {self.lab}/*.log")
            if pending:
                time.sleep(0.05)

    def state(self) -> dict[str, Any]:
        """What .lab/state.json records: pids and URLs (or why monitoring is off)."""
        if self.problem:
            return {"problem": self.problem}
        return {"pids": {name: s.pid for name, s in self.servers.items()},
                "urls": {name: s.url for name, s in self.servers.items()}}

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jeju_lab.monitoring", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rules = commands.add_parser("rules", help="print the alert rules rendered with an inventory's values")
    rules.add_argument("-i", "--inventory", default=PRODUCTION,
                       help="shared (production: monitoring/alerts.yml) or an environment such as local")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(render_rules(project_root(), args.inventory))
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
