"""`jeju-play drill INCIDENT [--fault F]`: a fresh lab, the fault, the plan (`--check`), the playbook with
approvals given, and a check from outside that the lab really recovered.

The plan comes first, as on-call would run it, and is held to the run: the cause `--check` classified must be the
cause the real run then acted on (a read that check mode skips would make them differ)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from jeju_play import catalog as catalog_mod
from jeju_play import request as request_mod
from jeju_play.errors import BadInput, ExitCode, LabError
from jeju_play.record import operator
from jeju_play.run import execute
from jeju_play.view import RunView


@dataclass
class DrillReport:
    incident: str
    fault: str
    run_exit_code: int
    exit_code: int
    recovered: bool | None
    seconds: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    record: str = ""
    planned_cause: str | None = None  # the first round's cause in the --check run
    cause: str | None = None  # the first round's cause in the real run
    check_record: str = ""


def first_cause(record_dir: Path) -> str | None:
    """The cause the Decide phase chose in a run's first round (artifacts/classification); None without one."""
    path = record_dir / "artifacts" / "classification"
    if not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0].strip() if lines else None


def default_fault(incident: catalog_mod.Incident) -> str | None:
    """The lab fault that makes `incident` happen; None for a routine procedure (run on a healthy lab)."""
    from jeju_lab.faults import FAULTS

    for item in FAULTS.values():
        if item.incident == incident.name:
            return item.name
    for item in FAULTS.values():
        if incident.name in item.also_for:
            return item.name
    if incident.routine:
        return None
    raise BadInput(f"No lab fault makes '{incident.name}' happen yet: `jeju-play lab faults` lists them.")


def run_drill(root: Path, incident_name: str, fault_name: str | None, out: Console, quiet: bool) -> DrillReport:
    from jeju_lab.control import Lab
    from jeju_lab.faults import fault as lookup_fault
    from jeju_lab.recovery import wait_until_steady

    incident = catalog_mod.load(root).get(incident_name)
    if not incident.automated:
        raise BadInput(f"'{incident.name}' is not automated yet, so there is no drill for it.")
    chosen = fault_name or default_fault(incident)
    fault = lookup_fault(chosen) if chosen else None
    lab = Lab.default()
    timings: dict[str, float] = {}
    start = time.monotonic()
    if lab.running():
        lab.down()  # a drill starts from a fresh lab: earlier remediations must not hide this fault
    lab.up()
    timings["lab_up"] = time.monotonic() - start
    if fault is not None:
        lab.break_fault(fault.name)
        time.sleep(fault.settle_seconds)
        timings["fault_settle"] = fault.settle_seconds
    else:  # a routine procedure checks a running chain: let the fresh lab batch and propose first
        warm_up = time.monotonic()
        if not wait_until_steady(lab, batching=True):
            raise LabError("The fresh lab did not propose and batch within 90 s; see `jeju-play lab status` and "
                           ".lab/ logs.")
        timings["lab_warm_up"] = time.monotonic() - warm_up
    view = RunView(console=out, quiet=quiet)
    fault_label = fault.name if fault is not None else "none (routine procedure)"
    approval = request_mod.Approval(operator=f"{operator()} (drill)", yes=True, yes_i_mean="local")
    runner_vars = {"jeju_drill_fault": fault_label}
    check_start = time.monotonic()
    planned = execute(request_mod.build(root, incident.name, "local", approval, check=True, runner_vars=runner_vars,
                                        origin="drill"), view)
    timings["check"] = time.monotonic() - check_start
    run_start = time.monotonic()
    outcome = execute(request_mod.build(root, incident.name, "local", approval, runner_vars=runner_vars,
                                        origin="drill"), view)
    timings["playbook"] = time.monotonic() - run_start
    report = DrillReport(incident.name, fault_label, outcome.exit_code, outcome.exit_code, None,
                         record=str(outcome.record_dir), planned_cause=first_cause(planned.record_dir),
                         cause=first_cause(outcome.record_dir), check_record=str(planned.record_dir))
    if report.planned_cause != report.cause:
        report.problems.append(f"--check planned for '{report.planned_cause}' but the run acted on '{report.cause}': "
                               "a read the plan skips (check mode) or a lab still settling; compare the two "
                               f"records ({planned.record_dir.name}, {outcome.record_dir.name})")
        report.exit_code = int(ExitCode.FAILED)
    check = fault.recovery_for(incident.name) if fault is not None else None
    if outcome.exit_code == ExitCode.OK and check is not None:
        verify_start = time.monotonic()
        verdict = check(lab)
        timings["recovery_check"] = time.monotonic() - verify_start
        report.recovered, report.facts, report.problems = verdict.recovered, verdict.facts, verdict.problems
        if not verdict.recovered:
            report.exit_code = int(ExitCode.FAILED)
    timings["total"] = time.monotonic() - start
    report.seconds = {k: round(v, 2) for k, v in timings.items()}
    return report
