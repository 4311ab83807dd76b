"""What the network-down end-to-end tests look at: op-node through the kubernetes client, the L2 head, and the run.

Assertions are on the lab (the chain, the Kubernetes objects) and the run record, never the playbook's own words.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from jeju_play.lab.anvil import rpc_call
from jeju_play.lab.topology import OP_NODE_MEMORY_LIMIT
from tests.support import LabHandle, run_incident

NS = "op-stack"
L1_ENV = "OP_NODE_L1_ETH_RPC"
STALL_SECONDS = 5  # inventories/local: jeju_thresholds.block_stall_seconds


def kube(lab: LabHandle) -> Any:
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=lab.kubeconfig, context="jeju-lab")
    return client.AppsV1Api(api), client.CoreV1Api(api)


def op_node(lab: LabHandle) -> Any:
    return kube(lab)[0].read_namespaced_deployment("op-node", NS)


def op_node_env(lab: LabHandle) -> dict[str, str]:
    return {e.name: e.value for e in op_node(lab).spec.template.spec.containers[0].env}


def op_node_pods(lab: LabHandle) -> list[Any]:
    pods = kube(lab)[1].list_namespaced_pod(NS, label_selector="app.kubernetes.io/name=op-node").items
    return sorted(pods, key=lambda p: p.metadata.name)


def l2_head(lab: LabHandle) -> tuple[int, int]:
    block = rpc_call(lab.state["endpoints"]["l2_anvil"], "eth_getBlockByNumber", ["latest", False])
    return int(block["number"], 16), int(block["timestamp"], 16)


def wait_until(predicate: Any, what: str, limit: float = 40.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"the lab never reached: {what}")
        time.sleep(0.5)


def wait_for_stall(lab: LabHandle) -> int:
    """The fault's symptom: no new L2 block for longer than the inventory's stall threshold."""
    wait_until(lambda: time.time() - l2_head(lab)[1] > STALL_SECONDS + 0.5, "a stalled L2 head")
    return l2_head(lab)[0]


def blocks_flow(lab: LabHandle, count: int = 2) -> bool:
    start = l2_head(lab)[0]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if l2_head(lab)[0] >= start + count:
            return True
        time.sleep(0.5)
    return False


def reset_op_node(lab: LabHandle) -> None:
    """Put op-node back as the lab started it: primary L1 URL, the seeded memory limit, one Ready replica."""
    apps, _ = kube(lab)
    primary = lab.state["endpoints"]["l1_rpc_urls"][0]
    container = op_node(lab).spec.template.spec.containers[0]
    patch: dict[str, Any] = {"spec": {"replicas": 1}}
    if op_node_env(lab).get(L1_ENV) != primary or container.resources.limits["memory"] != OP_NODE_MEMORY_LIMIT:
        patch["spec"]["template"] = {"spec": {"containers": [{
            "name": container.name, "env": [{"name": L1_ENV, "value": primary}],
            "resources": {"limits": {"memory": OP_NODE_MEMORY_LIMIT}}}]}}
    apps.patch_namespaced_deployment("op-node", NS, patch)
    wait_until(lambda: any(c.type == "Ready" and c.status == "True" for p in op_node_pods(lab)
                           for c in p.status.conditions or []) and len(op_node_pods(lab)) == 1,
               "one Ready op-node pod")
    wait_until(lambda: blocks_flow(lab, 1), "blocks flowing again")


def network_down(lab: LabHandle, *args: str) -> tuple[Any, Path]:
    return run_incident(lab, "network-down", *args, timeout=240)
