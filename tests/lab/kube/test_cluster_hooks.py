"""The controller and the simulator hooks, observed through the kubernetes Python client."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.stream import stream

from jeju_lab.kube_double import PodHealth, ThreadedKubeServer

from .helpers import NAMESPACE, deployment, wait_for


def _pods(core: client.CoreV1Api, **kwargs: str) -> list[Any]:
    return core.list_namespaced_pod(NAMESPACE, **kwargs).items


def _rolled_out(apps: client.AppsV1Api, name: str = "op-node") -> Any:
    d = apps.read_namespaced_deployment(name, NAMESPACE)
    s = d.status
    done = (
        s.observed_generation == d.metadata.generation
        and s.updated_replicas == d.spec.replicas
        and s.replicas == d.spec.replicas
        and s.available_replicas == d.spec.replicas
    )
    return d if done else None


def test_template_change_rolls_a_new_replica_set(api: client.ApiClient) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(NAMESPACE, deployment(replicas=2))
    wait_for("first rollout", lambda: _rolled_out(apps))
    restart = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}}
    apps.patch_namespaced_deployment("op-node", NAMESPACE, restart)
    rolled = wait_for("second rollout", lambda: _rolled_out(apps))
    assert rolled.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    sets = {
        rs.metadata.annotations["deployment.kubernetes.io/revision"]: rs
        for rs in apps.list_namespaced_replica_set(NAMESPACE).items
    }
    assert sets["1"].spec.replicas == 0 and sets["2"].spec.replicas == 2
    hash_label = sets["2"].metadata.labels["pod-template-hash"]
    pods = wait_for("old pods gone", lambda: [p for p in _pods(core) if len(_pods(core)) == 2])
    assert {p.metadata.labels["pod-template-hash"] for p in pods} == {hash_label}
    reasons = [
        e.reason for e in core.list_namespaced_event(NAMESPACE, field_selector="involvedObject.name=op-node").items
    ]
    assert "ScalingReplicaSet" in reasons


def test_deleted_pod_is_replaced(api: client.ApiClient) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(NAMESPACE, deployment(replicas=1))
    first = wait_for("a ready pod", lambda: _rolled_out(apps) and _pods(core)[0])
    core.delete_namespaced_pod(first.metadata.name, NAMESPACE)
    replacement = wait_for(
        "a replacement",
        lambda: [
            p for p in _pods(core, field_selector="status.phase=Running") if p.metadata.name != first.metadata.name
        ],
    )
    assert len(replacement) == 1


def test_health_hook_shows_crash_loop_and_oom(lab: ThreadedKubeServer, api: client.ApiClient) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(NAMESPACE, deployment(replicas=1))
    wait_for("rollout", lambda: _rolled_out(apps))
    crash = PodHealth(
        ready=False, waiting_reason="CrashLoopBackOff", last_terminated_reason="OOMKilled", restart_count=4
    )
    lab.call(
        lab.cluster.set_pod_health_hook,
        lambda pod: crash if pod["metadata"]["labels"].get("app") == "op-node" else None,
    )
    pod = wait_for(
        "crash loop",
        lambda: next(
            (
                p
                for p in _pods(core)
                if p.status.container_statuses[0].state.waiting and not p.status.container_statuses[0].ready
            ),
            None,
        ),
    )
    status = pod.status.container_statuses[0]
    assert status.state.waiting.reason == "CrashLoopBackOff" and status.restart_count == 4
    assert status.last_state.terminated.reason == "OOMKilled" and status.last_state.terminated.exit_code == 137
    wait_for(
        "deployment unavailable",
        lambda: not apps.read_namespaced_deployment("op-node", NAMESPACE).status.ready_replicas,
    )
    lab.call(lab.cluster.set_pod_health_hook, None)
    wait_for("recovery", lambda: _rolled_out(apps))


def test_node_not_ready_strands_pods_until_deleted(lab: ThreadedKubeServer, api: client.ApiClient) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(NAMESPACE, deployment(replicas=2))
    pods = wait_for("rollout", lambda: _rolled_out(apps) and _pods(core))
    lost = pods[0].spec.node_name
    lab.call(lab.cluster.set_node_ready, lost, False)
    stuck = wait_for(
        "pod Unknown",
        lambda: [p for p in _pods(core, field_selector=f"spec.nodeName={lost}") if p.status.phase == "Unknown"],
    )
    node = core.read_node(lost)
    assert next(c for c in node.status.conditions if c.type == "Ready").status != "True"
    core.delete_namespaced_pod(stuck[0].metadata.name, NAMESPACE)
    wait_for("rollout elsewhere", lambda: _rolled_out(apps))
    assert all(p.spec.node_name != lost for p in _pods(core))


def test_subscribers_see_deployment_patches(lab: ThreadedKubeServer, api: client.ApiClient) -> None:
    seen: list[tuple[str, str, int]] = []

    def on_change(event_type: str, obj: dict[str, Any]) -> None:
        if obj["kind"] == "Deployment":
            seen.append((event_type, obj["metadata"]["name"], obj["spec"]["replicas"]))

    lab.call(lab.cluster.subscribe, on_change)
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment(NAMESPACE, deployment(replicas=1))
    apps.patch_namespaced_deployment_scale("op-node", NAMESPACE, {"spec": {"replicas": 0}})
    assert ("ADDED", "op-node", 1) in seen and ("MODIFIED", "op-node", 0) in seen


def test_exec_through_the_python_client_stream(lab: ThreadedKubeServer, api: client.ApiClient) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(NAMESPACE, deployment(replicas=1))
    pod = wait_for("rollout", lambda: _rolled_out(apps) and _pods(core)[0])
    lab.call(lab.cluster.set_exec_handler, lambda ns, name, container, argv: (2, f"ran {argv[-1]}\n", "oops\n"))
    resp = stream(
        core.connect_get_namespaced_pod_exec,
        pod.metadata.name,
        NAMESPACE,
        command=["sh", "-c", "x"],
        stdout=True,
        stderr=True,
        stdin=False,
        tty=False,
        _preload_content=False,
    )
    resp.run_forever(timeout=5)
    assert resp.read_stdout() == "ran x\n" and resp.read_stderr() == "oops\n"
    try:
        assert resp.returncode == 2
    finally:
        resp.close()
