"""A run request: which incident, on which environment, how its gates are answered. Built in one place for the CLI,
the drill and the alert receiver, and checked before anything runs (bad input: exit 2, nothing recorded).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from jeju_play import catalog as catalog_mod
from jeju_play import environments
from jeju_play.catalog import Incident
from jeju_play.environments import Environment
from jeju_play.errors import BadInput, Refused
from jeju_play.gates import ApprovalPolicy, AskFn

# confirm(prompt) -> the line the human typed; None when nobody can be asked (no terminal)
ConfirmFn = Callable[[str], str | None]
# Variables the runner sets itself; `-e` may not override them.
RESERVED_VAR_PREFIXES = ("ansible_", "jeju_run_", "jeju_project_root", "jeju_gate_preapproved",
                         "jeju_gate_approvals", "jeju_incident", "jeju_catalog", "jeju_drill_")


@dataclass(frozen=True)
class RunRequest:
    incident: Incident
    environment: Environment
    root: Path
    policy: ApprovalPolicy
    check: bool = False
    extra_vars: dict[str, Any] = field(default_factory=dict)
    verbosity: int = 0
    origin: str = "cli"  # cli, drill or alert: who asked for the run (recorded)
    catalog: list[dict[str, Any]] = field(default_factory=list)  # every incident in brief (jeju_catalog)
    run_id: str | None = None  # given by whoever must know it before the run starts (serve); else made at start
    alerts: list[dict[str, Any]] = field(default_factory=list)  # the alerts that started it (origin alert)
    unreviewed: bool = False  # --unreviewed: production may run unreviewed content, at an extra gate


@dataclass(frozen=True)
class Approval:
    """How the caller wants gates answered: pre-approved, asked at a terminal, or neither (they time out)."""

    operator: str
    yes: bool = False
    yes_i_mean: str | None = None  # the production environment's name, given on the command line
    ask: AskFn | None = None  # asks a human at a terminal, gate by gate
    confirm: ConfirmFn | None = None  # asks once for the production name when --yes is given alone


def build(root: Path, incident_name: str, inventory: str, approval: Approval, *, check: bool = False,
          extra_vars: dict[str, Any] | None = None, verbosity: int = 0, origin: str = "cli",
          runner_vars: dict[str, Any] | None = None, run_id: str | None = None,
          alerts: list[dict[str, Any]] | None = None, unreviewed: bool = False) -> RunRequest:
    """Look the incident and the environment up, and decide how gates are answered; raise before anything runs.

    extra_vars are the user's `-e` (checked); runner_vars what jeju-play itself passes (the drill's fault).
    A run an alert started waits at each gate no longer than the incident's response time."""
    catalog = catalog_mod.load(root)
    incident = catalog.get(incident_name)
    env = environments.load(root, inventory)
    extra = dict(extra_vars or {})
    for key in extra:
        if key.startswith(RESERVED_VAR_PREFIXES):
            raise BadInput(f"-e {key}: that variable is set by jeju-play itself; choose another name.")
    _check_overrides(root, env, extra)
    if approval.yes_i_mean is not None and approval.yes_i_mean != env.name:
        raise BadInput(f"--yes-i-mean {approval.yes_i_mean} does not match the environment '{env.name}'.")
    policy = ApprovalPolicy(operator=approval.operator, environment=env.name, production=env.production,
                            preapproved=False if check else _preapproved(env, approval), ask=approval.ask)
    extra.update(runner_vars or {})
    if origin == "alert":
        extra["jeju_gate_timeout_seconds"] = alert_gate_timeout(incident, env)
    return RunRequest(incident, env, root, policy, check=check, extra_vars=extra, verbosity=verbosity,
                      origin=origin, catalog=catalog.for_playbooks(), run_id=run_id, alerts=list(alerts or []),
                      unreviewed=unreviewed)


def alert_gate_timeout(incident: Incident, env: Environment) -> int:
    """How long a gate of an alert-started run waits: the environment's gate timeout, cut to the incident's
    response time (nobody answering within it is an escalation, never an approval)."""
    configured = int(env.variables.get("jeju_gate_timeout_seconds") or 300)
    response = incident.response_seconds
    return min(configured, response) if response else configured


def read_alerts(path: str) -> list[dict[str, Any]]:
    """The alerts serve hands a run it starts (a JSON list), or BadInput."""
    try:
        alerts = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"--alerts-file {path}: not a readable JSON list of alerts ({exc}).") from exc
    if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
        raise BadInput(f"--alerts-file {path}: expected a JSON list of alerts.")
    return alerts


def _preapproved(env: Environment, approval: Approval) -> bool:
    """--yes on production counts only with the environment's name given (--yes-i-mean) or typed."""
    if approval.yes_i_mean is not None:
        return True
    if not approval.yes:
        return False
    if not env.production:
        return True
    typed = approval.confirm(f"{env.name} is production. Type its name to pre-approve every gate: ") if (
        approval.confirm) else None
    if typed is None:
        raise Refused(f"'{env.name}' is a production environment: --yes alone is not enough. "
                      f"Pass --yes-i-mean {env.name}, or run at a terminal and type its name.")
    if typed.strip() != env.name:
        raise Refused(f"Pre-approval for {env.name} not confirmed (typed {typed.strip()!r}). Nothing ran.")
    return True


INVENTORY_PREFIXES = ("jeju_", "vault_")  # the inventory's settings, which inventories/schema.json describes
COMMAND_LINE = Path("the command line")  # where an -e value "is", in the problems the schema finds


def _typed(value: Any) -> Any:
    """An -e value as YAML reads it (`-e jeju_gate_timeout_seconds=1` is the number 1), for validation only."""
    if not isinstance(value, str):
        return value
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value


def _check_overrides(root: Path, env: Environment, extra: dict[str, Any]) -> None:
    """An -e that overrides an inventory setting is held to the same schema and rules as the inventory: a
    negative cap or an unknown key given on the command line is bad input too (exit 2, nothing run)."""
    overrides = {key: _typed(value) for key, value in extra.items() if key.startswith(INVENTORY_PREFIXES)}
    if not overrides:
        return
    sources = {**env.sources, **{key: COMMAND_LINE for key in overrides}}
    overridden = replace(env, variables={**env.variables, **overrides}, sources=sources)
    before = {problem.message for problem in environments.validate(root, env)}
    problems = [p for p in environments.validate(root, overridden) if p.message not in before]
    if problems:
        given = ", ".join(f"-e {key}" for key in overrides)
        listed = "".join(f"\n  - {p.message}" for p in problems)
        raise BadInput(f"{given} does not hold for environment '{env.name}'; fix the value and run again:{listed}")
