"""The security freeze against the lab's Kubernetes API double (the real kubernetes client over the wire)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jeju_lab.anvil import free_port
from jeju_lab.kube_double import Cluster
from jeju_lab.kube_double.server import write_kubeconfig
from jeju_lab.kube_double.threaded import ThreadedKubeServer
from jeju_play import catalog, freeze
from jeju_play.environments import Environment
from jeju_play.errors import BadInput, Refused
from jeju_play.guards import refuse_if_frozen, standing_guard
from tests.support import ROOT

CATALOG = catalog.load(ROOT)


def guard(env: Environment, incident: str, check: bool) -> str | None:
    return refuse_if_frozen(env, CATALOG.get(incident), check)

FROZEN = {"state": "frozen", "frozen_by": "alice@ops", "frozen_at": "2026-01-02T03:04:05Z",
          "run_id": "20260102T030405Z-security-breach-abcd", "reason": "security breach response",
          "components": "op-node,op-batcher,op-proposer"}


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[tuple[ThreadedKubeServer, Environment]]:
    with ThreadedKubeServer(Cluster()) as server:
        server.call(server.cluster.ensure_namespace, "op-stack")
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server.url)
        env = Environment("staging", tmp_path, {"jeju_kubeconfig": str(kubeconfig), "jeju_kube_context": "jeju-lab",
                                                "jeju_namespace": "op-stack"})
        yield server, env


def set_freeze(server: ThreadedKubeServer, data: dict[str, str]) -> None:
    server.call(server.cluster.create, {"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": freeze.CONFIGMAP, "namespace": "op-stack"}, "data": data})


def test_no_freeze_lets_every_incident_run(kube: tuple[ThreadedKubeServer, Environment]) -> None:
    _, env = kube
    assert freeze.read(env) is None
    assert guard(env, "network-down", check=False) is None


def test_a_freeze_refuses_with_who_when_why_and_how_to_lift(kube: tuple[ThreadedKubeServer, Environment]) -> None:
    server, env = kube
    set_freeze(server, FROZEN)
    with pytest.raises(Refused) as refused:
        guard(env, "sequencer-restarts", check=False)
    message = str(refused.value)
    for expected in ("alice@ops", "2026-01-02T03:04:05Z", "security breach response", "op-batcher",
                     "jeju-play freeze lift -i staging --reason"):
        assert expected in message
    assert refused.value.exit_code == 4


def test_the_breach_response_read_only_runs_and_check_mode_pass_the_freeze(
        kube: tuple[ThreadedKubeServer, Environment]) -> None:
    server, env = kube
    set_freeze(server, FROZEN)
    allowed = [i.name for i in CATALOG.incidents if i.allowed_while_frozen]
    assert set(allowed) == {"security-breach", "daily-checks", "handoff", "elevated-errors"}
    for incident in allowed:
        assert guard(env, incident, check=False) is None
    assert guard(env, "network-down", check=True) is None


def test_lift_records_who_and_why_in_the_cluster(kube: tuple[ThreadedKubeServer, Environment]) -> None:
    server, env = kube
    set_freeze(server, FROZEN)
    lifted = freeze.lift(env, "root cause patched in v1.2.3", "bob@ops")
    assert not lifted.active
    stored = server.call(server.cluster.get, "ConfigMap", freeze.CONFIGMAP, "op-stack")["data"]
    assert stored["state"] == "lifted" and stored["lifted_by"] == "bob@ops"
    assert stored["lift_reason"] == "root cause patched in v1.2.3" and stored["frozen_by"] == "alice@ops"
    assert guard(env, "network-down", check=False) is None


def test_lift_needs_a_reason_and_a_standing_freeze(kube: tuple[ThreadedKubeServer, Environment]) -> None:
    server, env = kube
    with pytest.raises(BadInput, match="no security freeze"):
        freeze.lift(env, "why not", "bob@ops")
    set_freeze(server, FROZEN)
    with pytest.raises(BadInput, match="--reason"):
        freeze.lift(env, "  ", "bob@ops")


def test_an_unreachable_cluster_warns_instead_of_blocking(tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{free_port()}")
    env = Environment("staging", tmp_path, {"jeju_kubeconfig": str(kubeconfig), "jeju_kube_context": "jeju-lab"})
    warning = guard(env, "network-down", check=False)
    assert warning is not None and "cannot read the security freeze" in warning


def test_a_freeze_set_during_a_run_refuses_its_remaining_gates(kube: tuple[ThreadedKubeServer, Environment]) -> None:
    from jeju_play.gates import ApprovalPolicy

    server, env = kube
    policy = ApprovalPolicy(operator="bob@desk", environment=env.name, production=False, preapproved=True,
                            guard=standing_guard(env, CATALOG.get("network-down")))
    assert policy.decide({"description": "Rollout restart op-node"})["approved"] is True
    set_freeze(server, FROZEN)
    answer = policy.decide({"description": "Rollout restart op-node"})
    assert answer["approved"] is False and answer["who"] == "jeju-play"
    assert "security freeze" in answer["how"] and "jeju-play freeze lift -i staging" in answer["how"]
    assert standing_guard(env, CATALOG.get("security-breach")) is None  # the breach response keeps its own gates


def test_a_human_yes_does_not_beat_a_freeze_set_while_reading_the_gate(
        kube: tuple[ThreadedKubeServer, Environment]) -> None:
    from jeju_play.gates import ApprovalPolicy

    server, env = kube

    def yes_after_the_freeze(request: dict[str, str], word: str) -> str:
        set_freeze(server, FROZEN)  # security-breach froze the stack while this operator read the gate
        return word

    policy = ApprovalPolicy(operator="bob@desk", environment=env.name, production=False,
                            ask=yes_after_the_freeze, guard=standing_guard(env, CATALOG.get("network-down")))
    answer = policy.decide({"description": "Scale op-node to 1"})
    assert answer["approved"] is False and "security freeze" in answer["how"]
