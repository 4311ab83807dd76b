"""The simulators' /metrics: the OP Stack's names and labels, served by prometheus_client, gone with the pod."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jeju_lab.anvil import AnvilNode
from jeju_lab.sim.kube_metrics import ClusterMetrics
from jeju_lab.sim.metrics import MetricsEndpoint

from .helpers import running_stack, wait_until

pytestmark = pytest.mark.lab
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(url: str) -> Samples:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def refused(endpoint: MetricsEndpoint) -> bool:
    try:
        async with aiohttp.ClientSession() as session, session.get(endpoint.url) as response:
            await response.read()
    except aiohttp.ClientConnectionError:
        return True
    return False


def test_op_node_batcher_proposer_and_proxy_metrics(l1: AnvilNode, l2: AnvilNode) -> None:
    async def scenario() -> None:
        async with running_stack(l1, l2) as (stack, _logs):
            proxy = await stack.add_proxy(l2.url, "reth", serve_metrics=True)
            op_node, batcher, proposer = (stack.metrics[n] for n in ("op-node", "op-batcher", "op-proposer"))

            async def batched() -> bool:
                return value(await scrape(batcher.url), "op_batcher_default_batcher_tx_total",
                             stage="success") is not None

            await wait_until(batched, what="a batch in op-batcher's metrics")
            await wait_until(lambda: _safe_head(op_node), what="a safe head in op-node's metrics")
            node = await scrape(op_node.url)
            assert value(node, "op_node_default_up") == 1
            unsafe = value(node, "op_node_default_refs_number", layer="l2", type="l2_unsafe")
            safe = value(node, "op_node_default_refs_number", layer="l2", type="l2_safe")
            assert unsafe is not None and safe is not None and unsafe >= safe > 0
            assert value(node, "op_node_default_refs_time", layer="l2", type="l2_unsafe")
            assert value(node, "op_node_default_refs_number", layer="l1", type="l1_head")
            assert value(node, "op_node_default_refs_number", layer="l1_origin", type="l2_unsafe") is not None
            assert value(node, "op_node_default_derivation_errors_total") == 0

            sent = await scrape(batcher.url)
            assert value(sent, "op_batcher_default_up") == 1
            assert (value(sent, "op_batcher_default_balance") or 0) > 1000  # anvil's 10,000 ETH less gas
            assert (value(sent, "op_batcher_default_batcher_tx_total", stage="success") or 0) >= 1
            assert value(sent, "op_batcher_default_batcher_tx_total", stage="submitted") is not None
            assert value(sent, "op_batcher_default_last_batcher_tx_unix", stage="success")
            # The proposer (no oracle here) shows what it proposed: the L2 block ref, as op-proposer records it.
            stack.proposer.stats.last_proposed_ref = {"number": 10, "timestamp": 1700000000, "hash": "0x" + "ab" * 32,
                                                      "l1origin": {"number": 4, "hash": "0x" + "cd" * 32}}
            outputs = await scrape(proposer.url)
            assert value(outputs, "op_proposer_default_refs_number", layer="l2", type="proposed") == 10
            assert value(outputs, "op_proposer_default_refs_time", layer="l2", type="proposed") == 1700000000

            await call_through(proxy.url)
            served = await scrape(proxy.metrics_endpoint.url)  # type: ignore[union-attr]
            assert value(served, "proxyd_http_response_codes_total", status_code="200") == 1
            assert value(served, "proxyd_http_request_duration_seconds_count") == 1
            assert value(served, "proxyd_rpc_backend_request_duration_seconds_count", backend_name="reth",
                         method_name="eth_blockNumber", batched="false") == 1

            stack.conditions.batcher_running = False  # kubectl scale op-batcher --replicas=0
            stack.conditions.op_node_ready = False  # op-node's pod is not Ready
            await wait_until(lambda: refused(batcher), what="op-batcher's metrics to go with its pod")
            await wait_until(lambda: refused(op_node), what="op-node's metrics to go with its pod")
            assert value(await scrape(proposer.url), "op_proposer_default_up") == 1
            stack.conditions.op_node_ready = True
            await wait_until(lambda: _listening(op_node), what="op-node's metrics back with its pod")

    asyncio.run(scenario())


async def _safe_head(endpoint: MetricsEndpoint) -> bool:
    return (value(await scrape(endpoint.url), "op_node_default_refs_number", layer="l2", type="l2_safe") or 0) > 0


async def _listening(endpoint: MetricsEndpoint) -> bool:
    return not await refused(endpoint)


async def call_through(url: str) -> Any:
    async with aiohttp.ClientSession() as session, session.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}) as response:
        return await response.json()


def pod(name: str, *, restarts: int = 0, reason: str | None = None, waiting: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"name": "op-node", "restartCount": restarts, "ready": waiting is None,
                              "lastState": {"terminated": {"reason": reason}} if reason else {},
                              "state": {"waiting": {"reason": waiting}} if waiting else {"running": {}}}
    return {"metadata": {"name": name, "namespace": "op-stack", "uid": f"uid-{name}"},
            "spec": {"nodeName": "lab-node-a", "containers": [{"name": "op-node", "image": "op-node:v1",
                                                               "resources": {"limits": {"memory": "2Gi",
                                                                                        "cpu": "1000m"}}}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": str(waiting is None)}],
                       "containerStatuses": [status]}}


def test_cluster_metrics_are_named_as_kube_state_metrics_cadvisor_and_the_kubelet() -> None:
    class Usage:
        cpu_millicores = 500
        memory_bytes = 1024**3

    pods = [pod("op-node-a", restarts=4, reason="OOMKilled", waiting="CrashLoopBackOff")]
    claims = [{"metadata": {"name": "reth-logs", "namespace": "op-stack"},
               "status": {"phase": "Bound", "capacity": {"storage": "50Gi"}}}]

    async def scenario() -> None:
        metrics = await ClusterMetrics(lambda: pods, list, lambda: claims, lambda _p, _c: Usage(),
                                       lambda _ns, _claim: 0.92).start()
        try:
            base = "http://" + metrics.address
            ids = {"namespace": "op-stack", "pod": "op-node-a", "uid": "uid-op-node-a", "container": "op-node"}
            state = await scrape(base + ClusterMetrics.paths["kube-state-metrics"])
            assert value(state, "kube_pod_container_status_restarts_total", **ids) == 4
            assert value(state, "kube_pod_container_status_last_terminated_reason", **ids, reason="OOMKilled") == 1
            assert value(state, "kube_pod_container_status_waiting_reason", **ids, reason="CrashLoopBackOff") == 1
            assert value(state, "kube_pod_container_resource_limits", **ids, node="lab-node-a", resource="memory",
                         unit="byte") == 2 * 1024**3
            assert value(state, "kube_persistentvolumeclaim_status_phase", namespace="op-stack",
                         persistentvolumeclaim="reth-logs", phase="Bound") == 1
            cadvisor = await scrape(base + ClusterMetrics.paths["kubelet-cadvisor"])
            memory = [v for (name, labels), v in cadvisor.items() if name == "container_memory_working_set_bytes"
                      and dict(labels)["pod"] == "op-node-a" and dict(labels)["container"] == "op-node"]
            assert memory == [1024**3]
            assert {"id", "image", "name", "namespace", "pod", "container"} <= {
                key for (name, labels), _ in cadvisor.items() if name == "container_memory_working_set_bytes"
                for key, _v in labels}
            kubelet = await scrape(base + ClusterMetrics.paths["kubelet"])
            used = value(kubelet, "kubelet_volume_stats_used_bytes", namespace="op-stack",
                         persistentvolumeclaim="reth-logs")
            assert used == pytest.approx(0.92 * 50 * 1024**3)
        finally:
            await metrics.stop()

    asyncio.run(scenario())
