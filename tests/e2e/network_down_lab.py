"""What the network-down end-to-end tests look at: op-node through the kubernetes client, the L2 head, and the run.

Assertions are on the lab (the chain, the Kubernetes objects) and the run record, never the playbook's own words.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from jeju_lab.topology import OP_NODE_MEMORY_LIMIT
from tests.support import LabHandle, blocks_flow, l2_head, run_incident, wait_until
from tests.support import kube as support_kube

__all__ = ["blocks_flow", "l2_head", "wait_until"]

NS = "op-stack"
L1_ENV = "OP_NODE_L1_ETH_RPC"
OP_NODE_DATA_PVC = "op-node-data"
STALL_SECONDS = 5  # inventories/local: jeju_thresholds.block_stall_seconds


def kube(lab: LabHandle) -> Any:
    clients = support_kube(lab)
    return clients.apps, clients.core


def op_node(lab: LabHandle) -> Any:
    return kube(lab)[0].read_namespaced_deployment("op-node", NS)


def op_node_env(lab: LabHandle) -> dict[str, str]:
    return {e.name: e.value for e in op_node(lab).spec.template.spec.containers[0].env}


def data_claim(lab: LabHandle) -> str:
    """The claim op-node's `data` volume mounts."""
    volumes = op_node(lab).spec.template.spec.volumes or []
    return next((v.persistent_volume_claim.claim_name for v in volumes
                 if v.name == "data" and v.persistent_volume_claim), "")


def op_node_pods(lab: LabHandle) -> list[Any]:
    pods = kube(lab)[1].list_namespaced_pod(NS, label_selector="app.kubernetes.io/name=op-node").items
    return sorted(pods, key=lambda p: p.metadata.name)


def wait_for_stall(lab: LabHandle) -> int:
    """The fault's symptom: no new L2 block for longer than the inventory's stall threshold."""
    wait_until(lambda: time.time() - l2_head(lab)[1] > STALL_SECONDS + 0.5, "a stalled L2 head")
    return l2_head(lab)[0]


def reset_op_node(lab: LabHandle) -> None:
    """Put op-node back as the lab started it: primary L1 URL, the seeded memory limit, its data claim, one Ready
    replica."""
    apps, _ = kube(lab)
    primary = lab.state["endpoints"]["l1_rpc_urls"][0]
    template = op_node(lab).spec.template.spec
    container = template.containers[0]
    claim = data_claim(lab)
    patch: dict[str, Any] = {"spec": {"replicas": 1}}
    if op_node_env(lab).get(L1_ENV) != primary or container.resources.limits["memory"] != OP_NODE_MEMORY_LIMIT \
            or claim != OP_NODE_DATA_PVC:
        patch["spec"]["template"] = {"spec": {
            "containers": [{"name": container.name, "env": [{"name": L1_ENV, "value": primary}],
                            "resources": {"limits": {"memory": OP_NODE_MEMORY_LIMIT}}}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": OP_NODE_DATA_PVC}}]}}
    apps.patch_namespaced_deployment("op-node", NS, patch)
    wait_until(lambda: any(c.type == "Ready" and c.status == "True" for p in op_node_pods(lab)
                           for c in p.status.conditions or []) and len(op_node_pods(lab)) == 1,
               "one Ready op-node pod")
    wait_until(lambda: blocks_flow(lab, 1), "blocks flowing again")


def network_down(lab: LabHandle, *args: str) -> tuple[Any, Path]:
    return run_incident(lab, "network-down", *args, timeout=240)
