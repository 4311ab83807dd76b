"""The two baselines of an incident's diagnose phase (issue 13), from one list of the runbook's reads for it:

- a naive playbook: one stock task per read, each a module run (kubernetes.core.k8s_info, k8s_log and k8s_exec for
  the cluster, ansible.builtin.uri for JSON-RPC and health endpoints), what a first playbook written from the
  runbook looks like;
- the runbook's raw commands typed in sequence (kubectl and cast, as the runbook writes them), with the lab's
  addresses.

Each READS entry is one step of the runbook's "Diagnostic Steps" (or "Immediate Actions" for network-down) that only
reads; steps that change something (restart, scale, top up) are not part of a diagnosis. The incidents the runbook
has no commands for (the ones added since) have no baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LATEST_OUTPUT_INDEX = "0x69f16eec"  # latestOutputIndex()
Vars = dict[str, Any]


@dataclass(frozen=True)
class Read:
    """One read: its stock task (module name to arguments, Jinja on the inventory's variables) and its command."""

    name: str
    module: str
    args: dict[str, Any]
    raw: Callable[[Vars], list[str]]
    before: list[dict[str, Any]] = field(default_factory=list)  # stock tasks it needs first (the pod to exec in)


def _kubectl(v: Vars, *args: str) -> list[str]:
    return ["kubectl", "--kubeconfig", v["jeju_kubeconfig"], "-n", v["jeju_namespace"], *args]


def _cast(v: Vars, *args: str) -> list[str]:
    return [v["cast"], *args]


def _rpc(url: str, method: str, params: list[Any]) -> dict[str, Any]:
    return {"url": url, "method": "POST", "body_format": "json",
            "body": {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}}


def pods(name: str, deployment: str) -> Read:
    return Read(name, "kubernetes.core.k8s_info",
                {"kind": "Pod", "namespace": "{{ jeju_namespace }}",
                 "label_selectors": [f"app.kubernetes.io/name={{{{ jeju_deployments.{deployment} }}}}"]},
                lambda v: _kubectl(v, "get", "pods", "-l",
                                   f"app.kubernetes.io/name={v['jeju_deployments'][deployment]}"))


def logs(deployment: str, tail: int) -> Read:
    return Read(f"Read {deployment}'s last {tail} log lines", "kubernetes.core.k8s_log",
                {"kind": "Deployment", "namespace": "{{ jeju_namespace }}",
                 "name": f"{{{{ jeju_deployments.{deployment} }}}}", "tail_lines": tail},
                lambda v: _kubectl(v, "logs", f"deployment/{v['jeju_deployments'][deployment]}", f"--tail={tail}"))


def listing(kind: str, api_version: str = "v1", namespaced: bool = True) -> Read:
    args: dict[str, Any] = {"kind": kind, "api_version": api_version}
    if namespaced:
        args["namespace"] = "{{ jeju_namespace }}"
    plural = {"PodMetrics": "pods.metrics.k8s.io", "VolumeSnapshot": "volumesnapshots.snapshot.storage.k8s.io",
              "PersistentVolumeClaim": "pvc", "ReplicaSet": "replicasets"}.get(kind, kind.lower() + "s")
    return Read(f"List the {kind} objects", "kubernetes.core.k8s_info", args,
                lambda v: _kubectl(v, "get", plural) if namespaced else
                ["kubectl", "--kubeconfig", v["jeju_kubeconfig"], "get", plural])


def top_pods() -> Read:
    read = listing("PodMetrics", "metrics.k8s.io/v1beta1")
    return Read("Read the pods' CPU and memory (kubectl top pods)", read.module, read.args,
                lambda v: _kubectl(v, "top", "pods"))


def pod_exec(deployment: str, command: str) -> Read:
    register = f"naive_{deployment}_pods"
    find = {"name": f"Find a {deployment} pod to exec in", "kubernetes.core.k8s_info": {
        "kind": "Pod", "namespace": "{{ jeju_namespace }}",
        "label_selectors": [f"app.kubernetes.io/name={{{{ jeju_deployments.{deployment} }}}}"]},
        "register": register}
    return Read(f"Run {command!r} in {deployment}", "kubernetes.core.k8s_exec",
                {"namespace": "{{ jeju_namespace }}", "pod": f"{{{{ {register}.resources[0].metadata.name }}}}",
                 "command": command},
                lambda v: _kubectl(v, "exec", f"deployment/{v['jeju_deployments'][deployment]}", "--",
                                   *(["sh", "-c", command[7:-1]] if command.startswith("sh -c '") else
                                     command.split())),
                before=[find])


def l1_block(index: int = 0) -> Read:
    return Read(f"Read the latest block of L1 endpoint {index}", "ansible.builtin.uri",
                _rpc(f"{{{{ jeju_l1_rpc_urls[{index}] }}}}", "eth_getBlockByNumber", ["latest", False]),
                lambda v: _cast(v, "block", "latest", "--rpc-url", v["jeju_l1_rpc_urls"][index]))


def l2_block() -> Read:
    return Read("Read the latest L2 block", "ansible.builtin.uri",
                _rpc("{{ jeju_l2_rpc_urls[0] }}", "eth_getBlockByNumber", ["latest", False]),
                lambda v: _cast(v, "block", "latest", "--rpc-url", v["jeju_l2_rpc_urls"][0]))


def balance(account: str) -> Read:
    return Read(f"Read the {account}'s balance", "ansible.builtin.uri",
                _rpc("{{ jeju_l1_rpc_urls[0] }}", "eth_getBalance", [f"{{{{ jeju_addresses.{account} }}}}", "latest"]),
                lambda v: _cast(v, "balance", v["jeju_addresses"][account], "--rpc-url", v["jeju_l1_rpc_urls"][0]))


def gas_price() -> Read:
    return Read("Read the L1 gas price", "ansible.builtin.uri", _rpc("{{ jeju_l1_rpc_urls[0] }}", "eth_gasPrice", []),
                lambda v: _cast(v, "gas-price", "--rpc-url", v["jeju_l1_rpc_urls"][0]))


def latest_output_index() -> Read:
    call = {"to": "{{ jeju_addresses.l2_output_oracle }}", "data": LATEST_OUTPUT_INDEX}
    return Read("Read the L2OutputOracle's latest output index", "ansible.builtin.uri",
                _rpc("{{ jeju_l1_rpc_urls[0] }}", "eth_call", [call, "latest"]),
                lambda v: _cast(v, "call", v["jeju_addresses"]["l2_output_oracle"], "latestOutputIndex()(uint256)",
                                "--rpc-url", v["jeju_l1_rpc_urls"][0]))


def sync_status() -> Read:
    return Read("Ask op-node for its sync status", "ansible.builtin.uri",
                _rpc("{{ jeju_op_node_rpc_url }}", "optimism_syncStatus", []),
                lambda v: _cast(v, "rpc", "optimism_syncStatus", "--rpc-url", v["jeju_op_node_rpc_url"]))


def eigenda_health() -> Read:
    return Read("Ask eigenda-proxy for its health", "ansible.builtin.uri",
                {"url": "{{ jeju_eigenda_proxy_url }}/health", "status_code": [200, 503]},
                lambda v: ["curl", "-s", "-o", "/dev/null", v["jeju_eigenda_proxy_url"] + "/health"])


def rollout_history(deployment: str) -> Read:
    read = listing("ReplicaSet", "apps/v1")
    return Read(f"Read {deployment}'s rollout history", read.module, read.args,
                lambda v: _kubectl(v, "rollout", "history", f"deployment/{v['jeju_deployments'][deployment]}"))


READS: dict[str, list[Read]] = {
    # P0 Network Down: Immediate Actions 1-3 and the Root Cause Analysis checks (nodes, PVCs).
    "network-down": [pods("Read op-node's pods", "op_node"), logs("op_node", 100), l1_block(0), l1_block(1),
                     l2_block(), sync_status(), listing("Event"), listing("Node", namespaced=False),
                     listing("PersistentVolumeClaim")],
    # P1 Batcher Failing: Diagnostic Steps 1-5.
    "batcher-failing": [logs("op_batcher", 50), balance("batcher"), l1_block(0), gas_price(), eigenda_health()],
    # P1 Proposer Stuck: Diagnostic Steps 1-3 (step 4's --test-compute-root is no real op-proposer flag: the
    # playbook asks op-node for the output root instead, as here).
    "proposer-stuck": [logs("op_proposer", 100), balance("proposer"), latest_output_index(), sync_status()],
    # P1 RPC Degraded Performance: Diagnostic Steps 1-4.
    "rpc-degraded": [top_pods(), pod_exec("reth", "sh -c 'netstat -an | grep :8545 | wc -l'"), logs("reth", 100),
                     l2_block()],
    # P2 High Resource Utilization: top by CPU and memory, the busy pod's logs, reth's disk.
    "high-resource": [top_pods(), logs("reth", 100), pod_exec("reth", "df -h"),
                      pod_exec("reth", "sh -c 'du -sh /var/log/*'")],
    # Rollback Procedures: the history and the rollout's status before undoing.
    "rollback": [rollout_history("op_node"), listing("Deployment", "apps/v1")],
}


def naive_playbook(incident: str, path: Path) -> Path:
    """Write the incident's naive playbook (one stock task per read) to `path`. On a healthy lab every read
    succeeds; bench_diagnose stops on a failed one (a baseline of failing reads would measure nothing)."""
    tasks: list[dict[str, Any]] = []
    for read in READS[incident]:
        tasks += read.before
        tasks.append({"name": read.name, read.module: read.args})
    play = {"name": f"Diagnose: {incident}'s reads, one stock task each", "hosts": "all", "gather_facts": False,
            "module_defaults": {"group/kubernetes.core.k8s": {"kubeconfig": "{{ jeju_kubeconfig }}",
                                                              "context": "{{ jeju_kube_context }}"}},
            "tasks": tasks}
    path.write_text(yaml.safe_dump([play], sort_keys=False))
    return path


def raw_commands(incident: str, variables: Vars) -> list[list[str]]:
    """The incident's reads as the runbook types them; `variables`: the lab's inventory and `cast`'s path."""
    return [read.raw(variables) for read in READS[incident]]
