"""The Jeju objects the lab puts into the Kubernetes double at start.

The Deployments carry the real op-stack settings under their real env var names (see lab/sim/README.md),
so a playbook that patches one changes what the simulators do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jeju_lab.sim import conditions as env_names

OP_STACK = "op-stack"
INDEXER = "indexer"
NODES = ("lab-node-a", "lab-node-b", "lab-node-c")
OP_NODE_DATA_PVC = "op-node-data"
RETH_DATA_PVC = "reth-data"
OP_NODE_MEMORY_LIMIT = "2Gi"
APP_LABEL = "app.kubernetes.io/name"  # selects a Deployment's pods; its value is the Deployment's name
KUBE_CONTEXT = "jeju-lab"
PUBLIC_INGRESS = "reth-public"  # the public RPC: Ingress -> Service reth -> its Ready endpoints
RATE_LIMIT_ANNOTATION = "nginx.ingress.kubernetes.io/limit-rpm"  # ingress-nginx: requests per minute per client
# The lab's Deployments by the inventory's jeju_deployments keys (the lab writes them into lab.yml).
DEPLOYMENTS = {"op_node": "op-node", "op_batcher": "op-batcher", "op_proposer": "op-proposer", "reth": "reth",
               "indexer": "subsquid"}


@dataclass(frozen=True)
class Endpoints:
    """What the Deployments point at (all on loopback)."""

    l1_primary: str
    l1_backup: str
    l2_rpc: str
    op_node: str
    eigenda: str
    l2_output_oracle: str


def _env(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in values.items()]


def deployment(name: str, namespace: str, containers: list[dict[str, Any]], *, replicas: int = 1,
               volumes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    labels = {APP_LABEL: name, "app.kubernetes.io/part-of": "jeju"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {APP_LABEL: name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": containers, "volumes": volumes or []},
            },
        },
    }


def container(name: str, image: str, env: dict[str, str], *, memory: str = "1Gi", cpu: str = "1000m",
              ports: list[int] | None = None, mounts: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "env": _env(env),
        "ports": [{"containerPort": p, "name": f"port-{p}"} for p in ports or []],
        "resources": {"limits": {"memory": memory, "cpu": cpu},
                      "requests": {"memory": memory, "cpu": str(int(cpu.removesuffix("m")) // 2) + "m"}},
        "volumeMounts": mounts or [],
    }


def deployments(ep: Endpoints) -> list[dict[str, Any]]:
    op_node = container("op-node", "us-docker.pkg.dev/oplabs-tools-artifacts/images/op-node:v1.13.0", {
        env_names.OP_NODE_L1_ETH_RPC: ep.l1_primary,
        "OP_NODE_L2_ENGINE_RPC": "http://reth:8551",
        "OP_NODE_RPC_ADDR": "0.0.0.0",  # noqa: S104 (the pod's setting; the lab itself binds loopback only)
        "OP_NODE_RPC_PORT": "9545",
        env_names.OP_NODE_RPC_ENABLE_ADMIN: "true",
        env_names.OP_NODE_SEQUENCER_ENABLED: "true",
        env_names.OP_NODE_SEQUENCER_STOPPED: "false",
    }, memory=OP_NODE_MEMORY_LIMIT, ports=[9545, 7300, 9222], mounts=[{"name": "data", "mountPath": "/data"}])
    op_node["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": 9545}, "periodSeconds": 10,
                                "timeoutSeconds": 1, "failureThreshold": 3}
    batcher = container("op-batcher", "us-docker.pkg.dev/oplabs-tools-artifacts/images/op-batcher:v1.11.0", {
        env_names.OP_BATCHER_L1_ETH_RPC: ep.l1_primary,
        env_names.OP_BATCHER_L2_ETH_RPC: "http://reth:8545",
        env_names.OP_BATCHER_ROLLUP_RPC: "http://op-node:9545",
        env_names.OP_BATCHER_DATA_AVAILABILITY_TYPE: "calldata",
        env_names.OP_BATCHER_ALTDA_ENABLED: "true",
        env_names.OP_BATCHER_ALTDA_DA_SERVER: "http://eigenda-proxy:3100",
        env_names.OP_BATCHER_TXMGR_FEE_LIMIT_THRESHOLD: "100",
    }, ports=[8545, 7300])
    proposer = container("op-proposer", "us-docker.pkg.dev/oplabs-tools-artifacts/images/op-proposer:v1.10.0", {
        env_names.OP_PROPOSER_L1_ETH_RPC: ep.l1_primary,
        env_names.OP_PROPOSER_ROLLUP_RPC: "http://op-node:9545",
        env_names.OP_PROPOSER_L2OO_ADDRESS: ep.l2_output_oracle,
        env_names.OP_PROPOSER_POLL_INTERVAL: "6s",
    }, ports=[8560, 7300])
    reth = container("reth", "ghcr.io/paradigmxyz/op-reth:v1.3.0", {"RETH_HTTP_PORT": "8545"},
                     memory="8Gi", cpu="4000m", ports=[8545, 8546, 8551],
                     mounts=[{"name": "data", "mountPath": "/data"}, {"name": "logs", "mountPath": "/var/log"}])
    eigenda = container("eigenda-proxy", "ghcr.io/layr-labs/eigenda-proxy:v1.6.0",
                        {"EIGENDA_PROXY_PORT": "3100"}, ports=[3100])
    subsquid = container("subsquid", "subsquid/evm-processor:latest", {"DB_HOST": "indexer-db"}, ports=[4350])
    return [
        deployment("op-node", OP_STACK, [op_node],
                   volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": OP_NODE_DATA_PVC}}]),
        deployment("op-batcher", OP_STACK, [batcher]),
        deployment("op-proposer", OP_STACK, [proposer]),
        deployment("reth", OP_STACK, [reth],
                   volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": RETH_DATA_PVC}},
                            {"name": "logs", "persistentVolumeClaim": {"claimName": "reth-logs"}}]),
        deployment("eigenda-proxy", OP_STACK, [eigenda]),
        deployment("subsquid", INDEXER, [subsquid]),
    ]


def service(name: str, namespace: str, ports: list[int]) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {APP_LABEL: name},
                 "ports": [{"name": f"port-{p}", "port": p, "targetPort": p} for p in ports]},
    }


def pvc(name: str, size: str, data_source: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "storageClassName": "lab-ssd",
                            "resources": {"requests": {"storage": size}}}
    if data_source:
        spec["dataSource"] = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                              "name": data_source}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": OP_STACK}, "spec": spec,
            "status": {"phase": "Bound", "capacity": {"storage": size}}}


def snapshot(name: str, source_pvc: str, created: str) -> dict[str, Any]:
    return {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
            "metadata": {"name": name, "namespace": OP_STACK, "labels": {"jeju.network/volume": source_pvc}},
            "spec": {"volumeSnapshotClassName": "lab-snapshots",
                     "source": {"persistentVolumeClaimName": source_pvc}},
            "status": {"readyToUse": True, "creationTime": created, "restoreSize": "100Gi"}}


def ingress() -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": PUBLIC_INGRESS, "namespace": OP_STACK,
                         "annotations": {"kubernetes.io/ingress.class": "nginx"}},
            "spec": {"rules": [{"host": "rpc.jeju.lab", "http": {"paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "reth", "port": {"number": 8545}}}}]}}]}}


def objects(ep: Endpoints, snapshot_times: tuple[str, str]) -> list[dict[str, Any]]:
    """Everything but Namespaces and Nodes, in creation order."""
    return [
        pvc(OP_NODE_DATA_PVC, "100Gi"),
        pvc("reth-logs", "50Gi"),
        pvc(RETH_DATA_PVC, "2000Gi"),
        snapshot("op-node-data-daily-1", OP_NODE_DATA_PVC, snapshot_times[0]),
        snapshot("op-node-data-daily-2", OP_NODE_DATA_PVC, snapshot_times[1]),
        snapshot("reth-data-daily-1", RETH_DATA_PVC, snapshot_times[0]),
        snapshot("reth-data-daily-2", RETH_DATA_PVC, snapshot_times[1]),
        service("op-node", OP_STACK, [9545, 7300]),
        service("op-batcher", OP_STACK, [8545]),
        service("op-proposer", OP_STACK, [8560]),
        service("reth", OP_STACK, [8545, 8546, 8551]),
        service("eigenda-proxy", OP_STACK, [3100]),
        service("subsquid", INDEXER, [4350]),
        ingress(),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "jeju-endpoints", "namespace": OP_STACK},
         "data": {"l1_primary": ep.l1_primary, "l1_backup": ep.l1_backup, "l2_rpc": ep.l2_rpc,
                  "op_node": ep.op_node, "eigenda": ep.eigenda}},
        *deployments(ep),
    ]
