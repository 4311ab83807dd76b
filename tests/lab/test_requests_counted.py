"""The lab counts what it serves (`GET /requests` on its control API, `Lab.requests()`): Kubernetes API requests
by method and JSON-RPC requests per endpoint by User-Agent, a batch being one. bench/bench_diagnose.py reads a
run's reads from these counters."""

from __future__ import annotations

import json
import urllib.request

from kubernetes import client, config

from tests.support import LabHandle


def post_batch(url: str, agent: str) -> list[dict[str, object]]:
    body = json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
                       {"jsonrpc": "2.0", "id": 2, "method": "eth_chainId", "params": []}]).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json",
                                                              "User-Agent": f"{agent}/1.0"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return list(json.loads(response.read()))


def test_a_batch_is_one_round_trip_and_api_requests_are_counted_by_method(lab: LabHandle) -> None:
    before = lab.lab.requests()
    primary = lab.state["endpoints"]["l1_rpc_urls"][0]
    assert len(post_batch(primary, "jeju-counted")) == 2
    api = config.new_client_from_config(lab.kubeconfig)
    try:
        client.CoreV1Api(api).list_namespaced_pod("op-stack")
    finally:
        api.close()
    after = lab.lab.requests()
    by_agent = after["rpc"]["l1-primary"]
    assert by_agent["jeju-counted"] - before["rpc"]["l1-primary"].get("jeju-counted", 0) == 1
    assert after["kube"]["GET"] - before["kube"].get("GET", 0) >= 1
    assert "jeju-counted" not in after["rpc"]["reth"]
