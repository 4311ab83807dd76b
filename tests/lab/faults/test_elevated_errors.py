"""elevated-errors fault: while healthy every component logs its usual trickle of warnings (op-node some errors
too); under errors-elevated op-node logs its errors at ten times that while blocks still flow, and the remedy by
hand (a restart of op-node: the new pod finds its peers) brings it back to the baseline. Observed with kubectl."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace
from typing import Any

from jeju_lab.faults_state import FaultState
from jeju_lab.log_baseline import BASELINE, ELEVATED_FACTOR, LogBaseline, per_minute
from jeju_lab.recovery import errors_at_baseline
from tests.support import LabHandle

from .helpers import blocks_flow, eventually, kubectl, logs_since, ready_pods

ERROR = re.compile(r"\blvl=(eror|error|crit)\b")
WARNING = re.compile(r"\blvl=warn\b")
BASELINE_ERRORS_PER_MINUTE = 4  # op-node's, as inventories/local/group_vars/all/errors.yml has it
COMPONENTS = ("op-node", "op-batcher", "op-proposer", "reth")


def count(pattern: re.Pattern[str], text: str) -> int:
    return sum(1 for line in text.splitlines() if pattern.search(line))


def errors_per_minute(lab: LabHandle, started: float) -> float:
    """op-node's error lines per minute since `started`, as `kubectl logs deploy/op-node --since` shows them."""
    return 60 * count(ERROR, logs_since(lab, "op-node", started)) / max(time.time() - started, 1.0)


def assert_at_baseline(lab: LabHandle, started: float) -> None:
    """op-node's errors since `started` under the inventory's elevated_factor (3x its baseline), give or take the
    one line a short window may just catch (one error 5 s in reads as 12 a minute)."""
    errors, seconds = count(ERROR, logs_since(lab, "op-node", started)), time.time() - started
    assert errors <= 3 * BASELINE_ERRORS_PER_MINUTE * seconds / 60 + 1, f"{errors} error lines in {seconds:.0f} s"


class FakeWorld:
    """Just what LogBaseline touches: the pods of a component, the fault state, and where lines go."""

    def __init__(self) -> None:
        self.faults = FaultState()
        self.routed: list[tuple[str, str]] = []
        self.appended: list[tuple[str, str]] = []

    def pods(self, app: str) -> list[dict[str, Any]]:
        return [{"metadata": {"name": f"{app}-{n}", "uid": f"uid-{app}-{n}"}, "status": {"phase": "Running"}}
                for n in (1, 2)]

    def route_log(self, component: str, line: str) -> None:
        self.routed.append((component, line))

    @property
    def cluster(self) -> Any:
        return SimpleNamespace(append_log=lambda _ns, pod, line: self.appended.append((pod, line)))


def test_the_baseline_rates_hold_whatever_the_ticks_and_the_fault_multiplies_errors_only() -> None:
    world, noise = FakeWorld(), LogBaseline()
    for tick in range(0, 601, 3):  # ten minutes in 3 s ticks
        noise.emit(world, now=float(tick))  # type: ignore[arg-type]
    for item in BASELINE:
        written = sum(1 for c, line in world.routed if c == item.component and f'msg="{item.msg}"' in line)
        assert abs(written - item.per_minute * 10) <= 1, item.msg
    assert world.appended == []
    world.faults.error_storm_pods = {"uid-op-node-1"}
    for tick in range(601, 662):  # one more minute, in 1 s ticks
        noise.emit(world, now=float(tick))  # type: ignore[arg-type]
    extra = [line for pod, line in world.appended if pod == "op-node-1"]
    assert abs(len(extra) - per_minute("op-node", "errors") * (ELEVATED_FACTOR - 1)) <= 1
    assert all("lvl=eror" in line for line in extra) and {pod for pod, _ in world.appended} == {"op-node-1"}


def test_a_healthy_lab_logs_its_baseline_of_warnings_and_errors(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    started = time.time()
    for component in COMPONENTS:
        eventually(lambda c=component: count(WARNING, logs_since(lab, c, started)), lambda n: n >= 1,
                   f"{component} logs a warning", within=40)
    eventually(lambda: count(ERROR, logs_since(lab, "op-node", started)), lambda n: n >= 1, "op-node logs an error",
               within=30)
    assert_at_baseline(lab, started)


def test_errors_elevated_op_node_logs_errors_at_ten_times_its_baseline(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("errors-elevated")
    started = time.time()
    eventually(lambda: count(ERROR, logs_since(lab, "op-node", started)), lambda n: n >= 10,
               "op-node logs errors fast", within=30)
    assert errors_per_minute(lab, started) >= 6 * BASELINE_ERRORS_PER_MINUTE
    assert ready_pods(lab, "op-node"), "op-node is still Ready"
    blocks_flow(lab, blocks=2)
    assert not errors_at_baseline(lab.lab).recovered


def test_errors_elevated_heals_with_a_restart_of_op_node(healthy_lab: LabHandle) -> None:
    lab = healthy_lab
    lab.lab.break_fault("errors-elevated")
    eventually(lambda: errors_at_baseline(lab.lab).recovered, lambda ok: not ok, "op-node's errors elevated")
    before = {p.metadata.name for p in ready_pods(lab, "op-node")}
    kubectl(lab, "rollout", "restart", "deployment/op-node")
    kubectl(lab, "rollout", "status", "deployment/op-node", "--timeout=30s")
    eventually(lambda: {p.metadata.name for p in ready_pods(lab, "op-node")},
               lambda now: bool(now) and not now & before, "a new op-node pod Ready and the old one gone")
    started = time.time()
    eventually(lambda: count(WARNING, logs_since(lab, "op-node", started)), lambda n: n >= 2,
               "the new pod logs its baseline warnings", within=30)
    assert_at_baseline(lab, started)
    verdict = errors_at_baseline(lab.lab)
    assert verdict.recovered, verdict.problems
    blocks_flow(lab, blocks=2)
