"""deploy/ runs serve the way the README and monitoring/alertmanager.yml expect: the same port, the same path,
real environments, loopback by default on a host."""

from __future__ import annotations

import shlex

import yaml

from jeju_play import environments
from tests.support import ROOT


def serve_args(argv: list[str]) -> dict[str, list[str]]:
    assert argv[:2] == ["jeju-play", "serve"] or (argv[0].endswith("/jeju-play") and argv[1] == "serve"), argv
    options: dict[str, list[str]] = {}
    for flag, value in zip(argv[2::2], argv[3::2], strict=True):
        options.setdefault(flag, []).append(value)
    return options


def alertmanager_target() -> str:
    example = yaml.safe_load((ROOT / "monitoring" / "alertmanager.yml").read_text())
    receiver = next(r for r in example["receivers"] if r["name"] == "jeju-play-serve")
    return str(receiver["webhook_configs"][0]["url"])


def test_the_kubernetes_deployment_serves_where_alertmanager_sends() -> None:
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / "jeju-play-serve.yaml").read_text()))
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"ServiceAccount", "PersistentVolumeClaim", "Deployment", "Service"}
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    options = serve_args(container["args"])
    assert set(options["-i"]) <= set(environments.available(ROOT))
    port = int(options["--listen"][0].rsplit(":", 1)[1])
    service = kinds["Service"]
    url = alertmanager_target()
    assert url == f"http://{service['metadata']['name']}.{service['metadata']['namespace']}.svc:{port}/alertmanager"
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    # A Pod's runs end with it: serve drains them on SIGTERM, within the Pod's grace period.
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    assert 0 < float(options["--drain"][0]) < pod["terminationGracePeriodSeconds"]


def test_the_systemd_unit_serves_real_environments_on_loopback() -> None:
    unit = (ROOT / "deploy" / "systemd" / "jeju-play-serve.service").read_text()
    exec_start = next(line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("ExecStart="))
    options = serve_args(shlex.split(exec_start))
    assert set(options["-i"]) <= set(environments.available(ROOT))
    assert options["--listen"][0].startswith("127.0.0.1:")
    assert "KillMode=process" in unit  # stopping serve leaves its runs going (they are in their own sessions)
