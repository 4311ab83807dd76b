"""What "the lab really recovered" means for each incident, observed from outside (chain and cluster).

Drills use these checks after the playbook ran; they read the lab the way a user would, never the run's words.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from jeju_lab.anvil import rpc_call
from jeju_lab.control import Lab
from jeju_lab.faults_state import memory_bytes
from jeju_lab.topology import APP_LABEL, OP_STACK
from jeju_play.errors import LabError

PAUSED_SELECTOR = "0x5c975abb"  # paused()
LATEST_OUTPUT_INDEX_SELECTOR = "0x69f16eec"  # latestOutputIndex()
GET_L2_OUTPUT_SELECTOR = "0xa25ae557"  # getL2Output(uint256)
WATCH_SECONDS = 4.0
RPC_SAMPLES = 5
RPC_LATENCY_MS = 500  # runbook P1: used when the lab's inventory does not say its own
RESOURCE_PERCENT = 80  # runbook P2
OUTPUT_WATCH_SECONDS = 30.0  # the lab proposes every 10 L2 blocks once finalized: one output in ~6-20 s


@dataclass
class Verdict:
    recovered: bool
    facts: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _head(url: str) -> int:
    return int(str(rpc_call(url, "eth_blockNumber")), 16)


Check = Callable[[Lab], Verdict]


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


STEADY_BATCH_SECONDS = 8.0  # the lab batches every 6 s; the daily checks look back 15 s of L1 time


def wait_until_steady(lab: Lab, limit: float = 90.0, batching: bool = False) -> bool:
    """A lab is steady once it has proposed: the first output is on L1 (~20 s after up). With `batching`, also
    once it is batching again: a batch landed in the last STEADY_BATCH_SECONDS of L1 time (a fault that stopped
    op-node or the batcher pauses batches for a while after its heal). Only what reads the batches needs that wait
    (daily-checks): it costs up to a batch interval after every such heal."""
    state = lab.state
    l1, oracle = state["endpoints"]["l1_anvil"], state["deployment"]["l2_output_oracle"]
    batcher = state["deployment"]["batcher"]
    deadline = time.monotonic() + limit
    while _latest_output(l1, oracle) is None or (batching and not _batched_within(l1, batcher,
                                                                                 STEADY_BATCH_SECONDS)):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def _batched_within(l1: str, address: str, seconds: float) -> bool:
    """The batcher sent a transaction in the L1 blocks of the last `seconds` (timestamps, from the head back)."""
    head = _block(l1, "latest")
    number, stamp = int(head["number"], 16), int(head["timestamp"], 16)
    start = number
    while start > 0:
        if stamp - int(_block(l1, hex(start - 1))["timestamp"], 16) > seconds:
            break
        start -= 1
    before = _nonce(l1, address, hex(start - 1)) if start > 0 else 0
    return _nonce(l1, address, hex(number)) > before


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


BATCH_WATCH_SECONDS = 30.0  # the lab batches every 6 s: five chances, on a loaded machine too
ETH = 10**18


def _block(url: str, tag: str) -> dict[str, Any]:
    block = rpc_call(url, "eth_getBlockByNumber", [tag, False])
    if not isinstance(block, dict):
        raise LabError(f"{url} has no block {tag}; is the lab's L1 anvil running (`jeju-play lab status`)?")
    return block


def _nonce(url: str, address: str, block: str = "latest") -> int:
    return int(str(rpc_call(url, "eth_getTransactionCount", [address, block])), 16)


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


def latency_threshold_ms(lab: Lab) -> float:
    """The public RPC's latency threshold the lab's inventory sets (jeju_thresholds.rpc_latency_ms in the vars
    beside lab.yml: 1000 ms at lab speed), which the playbooks judge by too; the runbook's 500 ms without it."""
    try:
        values = yaml.safe_load((lab.inventory_file.parent / "vars.yml").read_text(encoding="utf-8")) or {}
        return float(values["jeju_thresholds"]["rpc_latency_ms"])
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError):
        return float(RPC_LATENCY_MS)


def rpc_fast(lab: Lab) -> Verdict:
    """The public RPC answers under the lab's latency threshold, as a user calling it sees it."""
    url = lab.state["endpoints"]["l2_rpc_urls"][0]
    latencies = []
    for _ in range(RPC_SAMPLES):
        started = time.perf_counter()
        _head(url)
        latencies.append(round((time.perf_counter() - started) * 1000, 1))
    verdict = Verdict(True, {"latencies_ms": latencies, "reth": lab.status()["components"]["reth"]})
    threshold = latency_threshold_ms(lab)
    if max(latencies) > threshold:
        verdict.problems.append(f"the public RPC took {max(latencies)} ms (over {threshold:g} ms)")
    verdict.recovered = not verdict.problems
    return verdict


def rpc_serving(lab: Lab) -> Verdict:
    """The public RPC answers eth_blockNumber, every time, under the lab's latency threshold, at the chain's
    head."""
    url = lab.state["endpoints"]["l2_rpc_urls"][0]
    latencies, errors, heads = [], [], []
    for _ in range(RPC_SAMPLES):
        started = time.perf_counter()
        try:
            heads.append(_head(url))
        except (LabError, OSError) as exc:  # an HTTP 503 from the ingress is an OSError (urllib's HTTPError)
            errors.append(str(exc))
        latencies.append(round((time.perf_counter() - started) * 1000, 1))
    chain = _head(lab.state["endpoints"]["l2_anvil"])
    verdict = Verdict(True, {"latencies_ms": latencies, "errors": errors, "heads": heads, "chain_head": chain})
    if errors:
        verdict.problems.append(f"the public RPC failed {len(errors)} of {RPC_SAMPLES} calls: {errors[-1]}")
    threshold = latency_threshold_ms(lab)
    if latencies and max(latencies) > threshold:
        verdict.problems.append(f"the public RPC took {max(latencies)} ms (over {threshold:g} ms)")
    if heads and chain - max(heads) > 2:
        verdict.problems.append(f"the public RPC is at block {max(heads)}, the chain at {chain}")
    verdict.recovered = not verdict.problems
    return verdict


def _reth_memory_percent(lab: Lab) -> list[float]:
    """Each reth pod's memory against its limit, read from the lab's API as `kubectl top pods` reads it."""
    pods = _get_json(lab, f"/api/v1/namespaces/{OP_STACK}/pods?labelSelector={APP_LABEL}%3Dreth")["items"]
    limits = {p["metadata"]["name"]: memory_bytes(p["spec"]["containers"][0]["resources"]["limits"]["memory"])
              for p in pods}
    metrics = _get_json(lab, f"/apis/metrics.k8s.io/v1beta1/namespaces/{OP_STACK}/pods")["items"]
    return [100 * memory_bytes(m["containers"][0]["usage"]["memory"]) / limits[m["metadata"]["name"]]
            for m in metrics if limits.get(m["metadata"]["name"])]


def _get_json(lab: Lab, path: str) -> Any:
    """One document from the lab's API over TLS, with the kubeconfig's CA and token (as `kubectl get --raw`)."""
    from jeju_lab.kube_double import get_json

    return get_json(lab.state["kubeconfig"], path)


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


DEPOSIT_WATCH_SECONDS = 30.0  # the lab's user deposits every 4 s; a healthy sequencer includes it within ~2 s


def _deposits_since(l1: str, portal: str, from_block: int) -> list[dict[str, Any]]:
    from jeju_lab.sim.deposits import TRANSACTION_DEPOSITED

    head = _head(l1)
    if from_block > head:  # anvil refuses a range that starts after its head
        return []
    logs = rpc_call(l1, "eth_getLogs", [{"address": portal, "topics": [TRANSACTION_DEPOSITED],
                                         "fromBlock": hex(from_block), "toBlock": hex(head)}])
    return list(logs) if isinstance(logs, list) else []


def deposits_included(lab: Lab) -> Verdict:
    """A deposit made on L1 after this check starts is on L2 (its deposit transaction has a receipt) in the watch."""
    from jeju_lab.sim.deposits import Deposit

    state = lab.state
    l1, l2 = state["endpoints"]["l1_anvil"], state["endpoints"]["l2_anvil"]
    start = _head(l1) + 1
    deadline = time.monotonic() + DEPOSIT_WATCH_SECONDS
    seen: list[Deposit] = []
    while time.monotonic() < deadline:
        seen = [Deposit.from_log(log) for log in _deposits_since(l1, state["deployment"]["optimism_portal"], start)]
        receipts = [rpc_call(l2, "eth_getTransactionReceipt", [d.tx_hash]) for d in seen]
        included = [(d, r) for d, r in zip(seen, receipts, strict=True) if isinstance(r, dict)]
        if included:
            deposit, receipt = included[0]
            return Verdict(True, {"l1_block": deposit.l1_block, "l2_tx_hash": deposit.tx_hash,
                                  "l2_block": int(str(receipt["blockNumber"]), 16), "deposits_seen": len(seen)})
        time.sleep(1.0)
    problem = (f"{len(seen)} deposit(s) made on L1 since block {start}, none on L2 in {DEPOSIT_WATCH_SECONDS:.0f} s"
               if seen else f"no deposit on L1 since block {start} in {DEPOSIT_WATCH_SECONDS:.0f} s")
    return Verdict(False, {"deposits_seen": len(seen), "from_block": start}, [problem])


ERRORS_WATCH_SECONDS = 20  # inventories/local's jeju_elevated_errors window
ERRORS_FACTOR = 3  # ...and its elevated_factor
ERRORS_MIN_LINES = 5  # ...and its min_lines
ERROR_LEVELS = ("lvl=eror", "lvl=error", "lvl=crit")


def errors_at_baseline(lab: Lab) -> Verdict:
    """op-node's newest Ready pod logs errors at about its baseline again (jeju_lab/log_baseline.py): over the last
    ERRORS_WATCH_SECONDS, not above ERRORS_FACTOR times it, as `kubectl logs deploy/op-node --since=20s` shows."""
    from kubernetes import client, config

    from jeju_lab.log_baseline import ELEVATED_COMPONENT, per_minute
    from jeju_lab.topology import KUBE_CONTEXT

    kubeconfig = str(lab.state["kubeconfig"])
    with config.new_client_from_config(config_file=kubeconfig, context=KUBE_CONTEXT) as api:  # type: ignore[no-untyped-call]
        core = client.CoreV1Api(api)
        pods: list[Any] = list(core.list_namespaced_pod(OP_STACK, label_selector=f"{APP_LABEL}={ELEVATED_COMPONENT}")
                               .items)
        ready = sorted((p for p in pods if any(c.type == "Ready" and c.status == "True"
                                               for c in p.status.conditions or [])),
                       key=lambda p: str(p.metadata.creation_timestamp))
        if not ready:
            return Verdict(False, {}, [f"{ELEVATED_COMPONENT} has no Ready pod to read logs from"])
        name = str(ready[-1].metadata.name)
        text = str(core.read_namespaced_pod_log(name, OP_STACK, since_seconds=ERRORS_WATCH_SECONDS))
    errors = sum(1 for line in text.splitlines() if any(level in line for level in ERROR_LEVELS))
    expected = per_minute(ELEVATED_COMPONENT, "errors") * ERRORS_WATCH_SECONDS / 60
    verdict = Verdict(True, {"pod": name, "error_lines": errors, "baseline_lines": round(expected, 2),
                             "window_seconds": ERRORS_WATCH_SECONDS})
    if errors >= ERRORS_MIN_LINES and errors > ERRORS_FACTOR * expected:
        verdict.problems.append(f"{name} logged {errors} error lines in {ERRORS_WATCH_SECONDS} s (baseline "
                                f"{expected:.1f}, elevated above {ERRORS_FACTOR}x)")
    verdict.recovered = not verdict.problems
    return verdict


RESTART_WATCH_SECONDS = 9.0  # the lab's restart faults restart op-node every 4 s: two restarts would show


def restarts_stopped(lab: Lab) -> Verdict:
    """op-node does not restart any more (its containers' restart counts stand still) and blocks flow."""
    before = lab.status()["components"]["op-node"].get("restarts", 0)
    started = time.monotonic()
    verdict = blocks_flowing(lab)
    time.sleep(max(0.0, RESTART_WATCH_SECONDS - (time.monotonic() - started)))
    after = lab.status()["components"]["op-node"].get("restarts", 0)
    verdict.facts["restarts"] = {"before": before, "after": after, "watched_seconds": RESTART_WATCH_SECONDS}
    if after > before:
        verdict.problems.append(f"op-node restarted {after - before} time(s) in {RESTART_WATCH_SECONDS:.0f} s")
    verdict.recovered = not verdict.problems
    return verdict
