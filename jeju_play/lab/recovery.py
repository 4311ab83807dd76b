"""What "the lab really recovered" means for each incident, observed from outside (chain and cluster).

Drills use these checks after the playbook ran; they read the lab the way a user would, never the run's words.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jeju_play.errors import LabError
from jeju_play.lab.anvil import rpc_call
from jeju_play.lab.control import Lab
from jeju_play.lab.faults_state import memory_bytes
from jeju_play.lab.topology import APP_LABEL, OP_STACK

PAUSED_SELECTOR = "0x5c975abb"  # paused()
LATEST_OUTPUT_INDEX_SELECTOR = "0x69f16eec"  # latestOutputIndex()
GET_L2_OUTPUT_SELECTOR = "0xa25ae557"  # getL2Output(uint256)
WATCH_SECONDS = 4.0
RPC_SAMPLES = 5
RPC_LATENCY_MS = 500  # runbook P1
RESOURCE_PERCENT = 80  # runbook P2
OUTPUT_WATCH_SECONDS = 30.0  # the lab proposes every 10 L2 blocks once finalized: one output in ~6-20 s


@dataclass
class Verdict:
    recovered: bool
    facts: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _head(url: str) -> int:
    return int(str(rpc_call(url, "eth_blockNumber")), 16)


def blocks_flowing(lab: Lab) -> Verdict:
    state = lab.state
    l2 = state["endpoints"]["l2_anvil"]
    before = _head(l2)
    time.sleep(WATCH_SECONDS)
    after = _head(l2)
    op_node = lab.status()["components"]["op-node"]
    verdict = Verdict(True, {"l2_head_before": before, "l2_head_after": after, "op_node": op_node})
    if after <= before:
        verdict.problems.append(f"no new L2 block in {WATCH_SECONDS:.0f} s (head {after})")
    if not op_node["healthy"]:
        verdict.problems.append("op-node has no Ready pod")
    verdict.recovered = not verdict.problems
    return verdict


def network_paused_and_stopped(lab: Lab) -> Verdict:
    state = lab.state
    l1 = state["endpoints"]["l1_anvil"]
    portal = state["deployment"]["optimism_portal"]
    paused = int(str(rpc_call(l1, "eth_call", [{"to": portal, "data": PAUSED_SELECTOR}, "latest"])), 16) == 1
    drained_before = lab.status()["faults"]["drained_wei"]
    time.sleep(WATCH_SECONDS)
    status = lab.status()
    stopped = {app: status["components"][app]["replicas"] for app in ("op-node", "op-batcher", "op-proposer")}
    verdict = Verdict(True, {"portal_paused": paused, "replicas": stopped,
                             "drained_wei": status["faults"]["drained_wei"]})
    if not paused:
        verdict.problems.append("the OptimismPortal is not paused")
    for app, replicas in stopped.items():
        if replicas != 0:
            verdict.problems.append(f"{app} still has {replicas} replicas")
    if status["faults"]["drained_wei"] != drained_before:
        verdict.problems.append("the attacker is still draining the portal")
    verdict.recovered = not verdict.problems
    return verdict


def _latest_output(l1: str, oracle: str) -> tuple[int, str, int] | None:
    """(index, root, L2 block) of the oracle's latest output; None while nothing was proposed (the call reverts)."""
    try:
        index = int(str(rpc_call(l1, "eth_call", [{"to": oracle, "data": LATEST_OUTPUT_INDEX_SELECTOR}, "latest"])), 16)
    except LabError:
        return None
    data = GET_L2_OUTPUT_SELECTOR + f"{index:064x}"
    raw = str(rpc_call(l1, "eth_call", [{"to": oracle, "data": data}, "latest"]))[2:]
    return index, "0x" + raw[:64], int(raw[128:192], 16)


def wait_until_steady(lab: Lab, limit: float = 90.0) -> bool:
    """A fresh lab is steady once it has batched and proposed: the first output is on L1 (~20 s after up)."""
    state = lab.state
    l1, oracle = state["endpoints"]["l1_anvil"], state["deployment"]["l2_output_oracle"]
    deadline = time.monotonic() + limit
    while _latest_output(l1, oracle) is None:
        if time.monotonic() > deadline:
            return False
        time.sleep(1.0)
    return True


def outputs_proposed(lab: Lab) -> Verdict:
    """A new output appears within OUTPUT_WATCH_SECONDS and its root is the one op-node computes."""
    state = lab.state
    l1, oracle = state["endpoints"]["l1_anvil"], state["deployment"]["l2_output_oracle"]
    before = _latest_output(l1, oracle)
    deadline = time.monotonic() + OUTPUT_WATCH_SECONDS
    after = before
    while time.monotonic() < deadline:
        after = _latest_output(l1, oracle)
        if after is not None and (before is None or after[0] > before[0]):
            break
        time.sleep(1.0)
    verdict = Verdict(True, {"latest_index_before": before and before[0], "latest_index_after": after and after[0]})
    if after is None or (before is not None and after[0] <= before[0]):
        verdict.problems.append(f"no new output on the L2OutputOracle in {OUTPUT_WATCH_SECONDS:.0f} s")
    else:
        reply = rpc_call(state["endpoints"]["op_node_rpc_url"], "optimism_outputAtBlock", [hex(after[2])])
        computed = str(reply.get("outputRoot", "") if isinstance(reply, dict) else "").lower()
        verdict.facts.update(output_root=after[1], op_node_output_root=computed, l2_block=after[2])
        if computed != after[1].lower():
            verdict.problems.append(f"output {after[0]} has root {after[1]} but op-node computes {computed}")
    verdict.recovered = not verdict.problems
    return verdict


BATCH_WATCH_SECONDS = 15.0  # the lab batches every 6 s
ETH = 10**18


def _nonce(url: str, address: str) -> int:
    return int(str(rpc_call(url, "eth_getTransactionCount", [address, "latest"])), 16)


def batches_landing(lab: Lab) -> Verdict:
    """A new transaction from the batcher (it sends nothing but batches to the inbox) within the watch."""
    l1 = lab.state["endpoints"]["l1_anvil"]
    batcher = lab.state["deployment"]["batcher"]
    before = _nonce(l1, batcher)
    deadline = time.monotonic() + BATCH_WATCH_SECONDS
    after = before
    while after <= before and time.monotonic() < deadline:
        time.sleep(1.0)
        after = _nonce(l1, batcher)
    verdict = Verdict(after > before, {"batcher_nonce_before": before, "batcher_nonce_after": after})
    if after <= before:
        verdict.problems.append(f"no new batch transaction from the batcher in {BATCH_WATCH_SECONDS:.0f} s")
    return verdict


def balances_funded(lab: Lab, minimum_eth: dict[str, float] | None = None) -> Verdict:
    """The batcher and the proposer hold at least their minimum (inventories/local: 1 and 2 ETH)."""
    l1 = lab.state["endpoints"]["l1_anvil"]
    wanted = minimum_eth or {"batcher": 1.0, "proposer": 2.0}
    balances = {name: int(str(rpc_call(l1, "eth_getBalance", [lab.state["deployment"][name], "latest"])), 16) / ETH
                for name in wanted}
    verdict = Verdict(True, {"balances_eth": balances})
    for name, eth in balances.items():
        if eth < wanted[name]:
            verdict.problems.append(f"{name} holds {eth} ETH, below its minimum {wanted[name]} ETH")
    verdict.recovered = not verdict.problems
    return verdict


def rpc_fast(lab: Lab) -> Verdict:
    """The public RPC answers under the runbook's 500 ms, as a user calling it sees it."""
    url = lab.state["endpoints"]["l2_rpc_urls"][0]
    latencies = []
    for _ in range(RPC_SAMPLES):
        started = time.perf_counter()
        _head(url)
        latencies.append(round((time.perf_counter() - started) * 1000, 1))
    verdict = Verdict(True, {"latencies_ms": latencies, "reth": lab.status()["components"]["reth"]})
    if max(latencies) > RPC_LATENCY_MS:
        verdict.problems.append(f"the public RPC took {max(latencies)} ms (over {RPC_LATENCY_MS} ms)")
    verdict.recovered = not verdict.problems
    return verdict


def _reth_memory_percent(lab: Lab) -> list[float]:
    """Each reth pod's memory against its limit, read from the lab's API as `kubectl top pods` reads it."""
    api = lab.state["endpoints"]["kube_api"]
    pods = _get_json(f"{api}/api/v1/namespaces/{OP_STACK}/pods?labelSelector={APP_LABEL}%3Dreth")["items"]
    limits = {p["metadata"]["name"]: memory_bytes(p["spec"]["containers"][0]["resources"]["limits"]["memory"])
              for p in pods}
    metrics = _get_json(f"{api}/apis/metrics.k8s.io/v1beta1/namespaces/{OP_STACK}/pods")["items"]
    return [100 * memory_bytes(m["containers"][0]["usage"]["memory"]) / limits[m["metadata"]["name"]]
            for m in metrics if limits.get(m["metadata"]["name"])]


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - the lab's own loopback API
        return json.load(answer)


def usage_normal(lab: Lab) -> Verdict:
    """reth's log volume and memory are under the runbook's 80 % and reth still serves."""
    status = lab.status()
    memory = _reth_memory_percent(lab)
    verdict = Verdict(True, {"disk_percent": status["faults"]["disk_percent"], "reth": status["components"]["reth"],
                             "reth_memory_percent": memory})
    if status["faults"]["disk_percent"] > RESOURCE_PERCENT:
        verdict.problems.append(f"reth's log volume is {status['faults']['disk_percent']} % full")
    if any(percent > RESOURCE_PERCENT for percent in memory):
        verdict.problems.append(f"reth's memory is {max(memory):.0f} % of its limit")
    if not status["components"]["reth"]["healthy"]:
        verdict.problems.append("reth has no Ready pod")
    verdict.recovered = not verdict.problems
    return verdict

def rolled_back(lab: Lab) -> Verdict:
    """Blocks flow and op-node's rollout is complete: every pod it has is Ready (none crash-loops)."""
    verdict = blocks_flowing(lab)
    op_node = verdict.facts["op_node"]  # read by blocks_flowing after its watch
    if op_node["pods"] != op_node["ready"] or op_node["ready"] != op_node["replicas"]:
        verdict.problems.append(f"op-node's rollout is not complete: {op_node['ready']} of {op_node['pods']} "
                                f"pods Ready, {op_node['replicas']} wanted")
    verdict.recovered = not verdict.problems
    return verdict


CHECKS: dict[str, Callable[[Lab], Verdict]] = {
    "network-down": blocks_flowing,
    "sequencer-restarts": blocks_flowing,
    "data-corruption": blocks_flowing,
    "security-breach": network_paused_and_stopped,
    "rpc-degraded": rpc_fast,
    "high-resource": usage_normal,
    "batcher-failing": batches_landing,
    "low-balance": balances_funded,
    "proposer-stuck": outputs_proposed,
    "rollback": rolled_back,
}
