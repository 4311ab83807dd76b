"""Generate the EDA rulebook extensions/eda/rulebooks/alerts.yml from catalog.yml.

    python tools/eda_rulebook.py            # rewrite the rulebook
    python tools/eda_rulebook.py --check    # exit 1 when the rulebook is not what catalog.yml gives
    python tools/eda_rulebook.py --extra-vars network-down   # the extra vars an AWX job template needs

The catalog is the only list of incidents and of the alert names that map to them; the rulebook is derived from
it (tests/eda/test_rulebook.py fails when it is out of date). One rule per incident that has alerts:
- condition: a firing alert (Alertmanager webhook, through ansible.eda.alertmanager) whose `alertname` is one of
  the incident's and that carries an `environment` label;
- throttle: once_within the incident's status-update cadence (catalog `update_every`; an hour when it has none),
  grouped by the alert's environment. Throttle state is per rule and each rule is one incident, so runs are
  throttled per (incident, environment): both of network-down's alerts on mainnet start one diagnosis, testnet
  starts its own;
- action: an automated incident launches the AWX job template `jeju <environment> <incident> diagnose`
  (run_job_template; check mode, docs/awx.md) with the incident's catalog entry as `jeju_incident`; one that is
  not automated only says so (debug): the runbook's manual steps are for humans.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from jeju_play import catalog as catalog_mod

ROOT = Path(__file__).resolve().parent.parent

RULEBOOK = ROOT / "extensions" / "eda" / "rulebooks" / "alerts.yml"
DEFAULT_WINDOW = "1 hour"
ORGANIZATION = '{{ jeju_awx_organization | default("Jeju") }}'
ENVIRONMENT = "event.alert.labels.environment"
HEADER = """\
# GENERATED from catalog.yml by tools/eda_rulebook.py: do not edit by hand; run `python tools/eda_rulebook.py`
# after changing the catalog (tests/eda/test_rulebook.py fails while this file is out of date).
#
# Event-Driven Ansible: Alertmanager's webhook (receiver url http://<eda-host>:5000/alerts) to the AWX job
# template `jeju <environment> <incident> diagnose`, at most once per incident and environment within the
# incident's status-update cadence. Run it with
#   ansible-rulebook -r jeju.ops.alerts -i <inventory> --controller-url URL --controller-token TOKEN
# in a decision environment that has ansible.eda. The organization is the rulebook variable
# jeju_awx_organization (default Jeju). docs/awx.md shows the job templates and the workflow.
"""


class _Dumper(yaml.SafeDumper):
    """Block style with sequences indented under their key (yamllint's default)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


class Folded(str):
    """A long string written as a folded block scalar (`>-`), so that lines stay within 120 columns."""


_Dumper.add_representer(Folded, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value,
                                                                             style=">"))


def window(update_every: str | None) -> str:
    """The throttle window from the catalog's cadence: `15m` -> `15 minutes`."""
    if not update_every:
        return DEFAULT_WINDOW
    units = {"s": "seconds", "m": "minutes", "h": "hours"}
    number, unit = update_every[:-1], update_every[-1]
    if not number.isdigit() or unit not in units:
        raise SystemExit(f"catalog update_every {update_every!r} is not like 15m, 30m or 1h")
    return f"{int(number)} {units[unit]}"


def condition(alerts: tuple[str, ...]) -> Folded:
    names = ", ".join(json.dumps(name) for name in alerts)
    return Folded(f'event.alert.status == "firing" and event.alert.labels.alertname in [{names}] '
                  f"and {ENVIRONMENT} is defined")


def extra_vars(incident: catalog_mod.Incident) -> dict[str, Any]:
    """What the runner passes as jeju_incident, for a job that AWX runs instead."""
    return {"jeju_incident": incident.for_playbook()}


def rule(incident: catalog_mod.Incident) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"{incident.name}: {', '.join(incident.alerts)}",
        "condition": condition(incident.alerts),
        "throttle": {"once_within": window(incident.update_every), "group_by_attributes": [ENVIRONMENT]},
    }
    if incident.automated:
        body["action"] = {"run_job_template": {
            "name": f"jeju {{{{ {ENVIRONMENT} }}}} {incident.name} diagnose",
            "organization": ORGANIZATION,
            "job_args": {"extra_vars": extra_vars(incident)},
        }}
    else:
        body["action"] = {"debug": {
            "msg": Folded(f"{incident.name} on {{{{ {ENVIRONMENT} }}}} ({{{{ event.alert.labels.alertname }}}}) is not "
                    f"automated: hand it to humans, runbook section \"{incident.runbook}\"."),
        }}
    return body


def rulebook(root: Path = ROOT) -> str:
    cat = catalog_mod.load(root)
    rules = [rule(incident) for incident in cat.incidents if incident.alerts]
    document = [{
        "name": "Jeju alerts to incident diagnoses",
        "hosts": "all",
        "sources": [{"name": "Alertmanager webhook", "ansible.eda.alertmanager": {
            "host": "0.0.0.0", "port": 5000,  # noqa: S104 - the webhook listens where Alertmanager reaches it "data_alerts_path": "alerts", "data_host_path": "labels.instance",
            "skip_original_data": True}}],
        "rules": rules,
    }]
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=80, allow_unicode=True,
                     explicit_start=True, default_flow_style=False)
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="exit 1 when the rulebook is out of date")
    group.add_argument("--extra-vars", metavar="INCIDENT", help="print an incident's AWX extra vars (YAML)")
    args = parser.parse_args(argv)
    if args.extra_vars:
        incident = catalog_mod.load(ROOT).get(args.extra_vars)
        print(yaml.dump(extra_vars(incident), Dumper=_Dumper, sort_keys=False, width=110, explicit_start=True),
              end="")
        return 0
    wanted = rulebook()
    if args.check:
        current = RULEBOOK.read_text(encoding="utf-8") if RULEBOOK.exists() else ""
        if current != wanted:
            print(f"{RULEBOOK.relative_to(ROOT)} is out of date with catalog.yml: run python tools/eda_rulebook.py",
                  file=sys.stderr)
            return 1
        print(f"{RULEBOOK.relative_to(ROOT)} matches catalog.yml")
        return 0
    RULEBOOK.parent.mkdir(parents=True, exist_ok=True)
    RULEBOOK.write_text(wanted, encoding="utf-8")
    print(f"wrote {RULEBOOK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
