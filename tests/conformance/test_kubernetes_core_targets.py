"""kubernetes.core's own integration targets, unmodified, against the lab's Kubernetes API double.

The targets of targets.yml run as playbooks through ansible-playbook (kubernetes_core_run.py says how), all
against one double (TLS, the kubeconfig a kind cluster gives: client certificate and CA), except those that
cordon, drain or taint a node: each of those gets a double of its own. They run several at a time; one test per
target reports its result. A target listed as passing that fails fails the job; out_of_scope.yml says why each
target that is not run is not. The per-target logs stay in pytest's temporary folder.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from jeju_lab.kube_double import Cluster, ThreadedKubeServer, write_kubeconfig

from .kubernetes_core_run import VENDORED, TargetRun, collection_tree, collection_version, run_all

HERE = Path(__file__).resolve().parent
PLAN = yaml.safe_load((HERE / "targets.yml").read_text())
OUT_OF_SCOPE: dict[str, str] = yaml.safe_load((HERE / "out_of_scope.yml").read_text())
PASSING: list[str] = PLAN["passing"]
FAILING: dict[str, str] = PLAN["failing"] or {}
NODES = ("lab-node-a", "lab-node-b", "lab-node-c")
WORKERS = 8  # the targets mostly wait (their own pauses, kubernetes.core's wait_sleep): CPU stays low
TARGET_TIMEOUT = 600.0
REPORT: dict[str, object] = {}


def _double() -> ThreadedKubeServer:
    return ThreadedKubeServer(Cluster(ready_delay=0.2, nodes=NODES, namespaces=("default", "kube-system"))).start()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TargetRun]]:
    base = tmp_path_factory.mktemp("kubernetes-core")
    targets = collection_tree(base / "collections")
    names = [*PASSING, *FAILING]
    leftover = Path("/tmp/configmap.bin")  # k8s_full writes it there and leaves it
    had_leftover = leftover.exists()
    doubles = {"shared": _double()}
    try:
        for name in PLAN["own_double"]:
            doubles[name] = _double()
        plan = {}
        for key, double in doubles.items():
            kubeconfig = write_kubeconfig(base / f"kubeconfig-{key}", double.url, namespace="default",
                                          token=None, client_certificate=True)
            plan.update({name: kubeconfig for name in names if (name if name in doubles else "shared") == key})
        started = time.monotonic()
        results = run_all(plan, targets, base / "collections", base / "runs", workers=WORKERS,
                          timeout=TARGET_TIMEOUT)
        REPORT.update(seconds=round(time.monotonic() - started, 1), results=results, version=collection_version())
        yield results
    finally:
        for double in doubles.values():
            double.stop()
        if not had_leftover:
            leftover.unlink(missing_ok=True)


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("target", PASSING)
def test_target_passes(runs: dict[str, TargetRun], target: str) -> None:
    result = runs[target]
    assert result.passed, result.failure()


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("target", sorted(FAILING))
def test_known_failing_target_is_reported(runs: dict[str, TargetRun], target: str) -> None:
    if runs[target].passed:
        pytest.fail(f"{target} passes now: move it from `failing` to `passing` in targets.yml")
    pytest.xfail(FAILING[target])


def test_every_target_is_run_or_out_of_scope_and_only_run_ones_are_vendored() -> None:
    vendored = {p.name for p in VENDORED.iterdir() if p.is_dir()}
    run = {*PASSING, *FAILING}
    assert run | set(PLAN["support_roles"]) == vendored
    assert not run & set(OUT_OF_SCOPE), "a target is both run and out of scope"
    assert all(isinstance(reason, str) and reason.strip() for reason in OUT_OF_SCOPE.values())
    assert set(PLAN["own_double"]) <= run
    assert collection_version() == "6.2.0", "the vendored targets are 6.2.0's: vendor the new version's targets"


def summary_lines() -> list[str]:
    """What the terminal summary prints (tests/conformance/conftest.py): pass/fail and time per target."""
    results: dict[str, TargetRun] = REPORT.get("results") or {}  # type: ignore[assignment]
    if not results:
        return []
    passed = sum(1 for r in results.values() if r.passed)
    lines = [f"kubernetes.core {REPORT['version']} integration targets against the lab API double: {passed} of "
             f"{len(results)} passed in {REPORT['seconds']} s wall ({len(OUT_OF_SCOPE)} out of scope)"]
    lines += [f"  {'PASS' if r.passed else 'FAIL'} {name:<28} {r.seconds:>6.1f} s" for name, r in results.items()]
    return lines
