"""The runbook's faults: `jeju-play lab break FAULT` makes the symptoms happen, `lab heal` takes them away.

`heal` undoes the cause (the endpoint answers again, the balance is back...). It does not undo what a
playbook changed to work around it: a remediated lab stays remediated.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jeju_lab import faults_restarts, recovery
from jeju_lab.faults_state import (
    BROKEN_RELEASE_SUFFIX,
    DISK_EXHAUSTED_PERCENT,
    DISK_FULL_PERCENT,
    DISK_NORMAL_PERCENT,
    uid_of,
)
from jeju_lab.sim import ProxyMode
from jeju_lab.sim.logfmt import format_line
from jeju_lab.topology import (
    APP_LABEL,
    NODES,
    OP_NODE_DATA_PVC,
    OP_STACK,
    PUBLIC_INGRESS,
    RATE_LIMIT_ANNOTATION,
    RETH_DATA_PVC,
)
from jeju_play.errors import BadInput, LabError

if TYPE_CHECKING:
    from jeju_lab.world import LabWorld

Action = Callable[["LabWorld"], Awaitable[None]]
DRAIN_GRACE_SECONDS = 1  # kubectl drain --grace-period at lab speed (a pod's own default is 30 s)
Check = recovery.Check
GWEI = 10**9
ETH = 10**18
STARVED_BALANCE_WEI = 10**13  # 0.00001 ETH: not enough for one L1 transaction's gas
GAS_SPIKE_WEI = 300 * GWEI  # above the batcher's seeded 100 gwei fee limit
BATCH_STALL_SETTLE = 20.0  # s; beyond inventories/local batch_stall_seconds (15 s), so batcher-failing shows
CONFLICT_WAIT_SECONDS = 15.0  # conflicting-output waits this long for the oracle's next block to be due


@dataclass(frozen=True)
class Fault:
    name: str
    incident: str
    summary: str
    remedy: str
    breaks: Action
    heals: Action
    recovered: Check  # what "the lab recovered" means once the incident's playbook fixed it (drills check it)
    settle_seconds: float = 4.0  # how long a drill lets the symptoms develop before running the playbook
    also_for: dict[str, Check] = field(default_factory=dict)  # other incidents it rehearses, with their checks

    def recovery_for(self, incident: str) -> Check:
        """What a drill of `incident` with this fault checks once the playbook ran."""
        return self.also_for.get(incident, self.recovered)


async def _l1(world: LabWorld, method: str, *params: object) -> object:
    from jeju_lab.sim.rpc import JsonRpcClient

    assert world.stack.session is not None
    return await JsonRpcClient(world.stack.session, world.l1_url).call(method, *params)


async def _l2_head(world: LabWorld) -> int:
    from jeju_lab.sim.rpc import JsonRpcClient, hex_int

    assert world.stack.session is not None
    return hex_int(await JsonRpcClient(world.stack.session, world.l2_url).call("eth_blockNumber"))


def _log(world: LabWorld, component: str, level: str, msg: str, **fields: object) -> None:
    world.route_log(component, format_line(level, msg, fields))


async def _nothing(world: LabWorld) -> None:
    return None


# -- endpoint and workload faults --------------------------------------------------------------------
async def break_l1(world: LabWorld) -> None:
    await world.l1_primary.set_mode(ProxyMode.REFUSE)


async def heal_l1(world: LabWorld) -> None:
    await world.l1_primary.set_mode(ProxyMode.HEALTHY)


async def break_crash(world: LabWorld) -> None:
    world.faults.crashing_pods = {uid_of(p) for p in world.pods("op-node")}


async def heal_crash(world: LabWorld) -> None:
    world.faults.crashing_pods.clear()


async def break_stuck_restart(world: LabWorld) -> None:
    await break_crash(world)
    world.faults.volume_held = True


async def heal_stuck_restart(world: LabWorld) -> None:
    world.faults.volume_held = False
    world.faults.attach_warned.clear()
    await heal_crash(world)


async def break_reth_memory(world: LabWorld) -> None:
    world.faults.bloated_reth_pods = {uid_of(p) for p in world.pods("reth")}


async def heal_reth_memory(world: LabWorld) -> None:
    world.faults.bloated_reth_pods.clear()


async def break_reth_leak(world: LabWorld) -> None:
    world.faults.reth_leaks = True


async def heal_reth_leak(world: LabWorld) -> None:
    world.faults.reth_leaks = False


def _set_op_node_image(world: LabWorld, image_of: Callable[[str], str]) -> None:
    """A release: change op-node's image (a merge patch replaces the whole containers list)."""
    containers = [dict(c) for c in world.cluster.get("Deployment", "op-node", OP_STACK)["spec"]["template"]["spec"]
                  ["containers"]]
    if image_of(containers[0]["image"]) == containers[0]["image"]:
        return
    containers[0]["image"] = image_of(containers[0]["image"])
    world.cluster.patch("Deployment", "op-node", OP_STACK, {"spec": {"template": {"spec": {"containers": containers}}}})


async def break_deploy(world: LabWorld) -> None:
    _set_op_node_image(world, lambda image: image.removesuffix(BROKEN_RELEASE_SUFFIX) + BROKEN_RELEASE_SUFFIX)


async def heal_deploy(world: LabWorld) -> None:
    _set_op_node_image(world, lambda image: image.removesuffix(BROKEN_RELEASE_SUFFIX))


async def break_partition(world: LabWorld) -> None:
    world.faults.partitioned_pods = {uid_of(p) for p in world.pods("op-proposer")}


async def heal_partition(world: LabWorld) -> None:
    world.faults.partitioned_pods.clear()


async def break_bad_block(world: LabWorld) -> None:
    world.faults.bad_block_at = await _l2_head(world) + 2


async def heal_bad_block(world: LabWorld) -> None:
    world.faults.bad_block_at = None


async def break_node(world: LabWorld) -> None:
    pods = world.ready_pods("op-node") or world.pods("op-node")
    if not pods:
        raise LabError("node-lost needs an op-node pod to strand: scale op-node to 1 first.")
    node = str(pods[-1]["spec"].get("nodeName"))
    world.cluster.set_node_ready(node, False)
    world.faults.lost_node = node


async def heal_node(world: LabWorld) -> None:
    if world.faults.lost_node:
        world.cluster.set_node_ready(world.faults.lost_node, True)
        world.faults.lost_node = None


async def break_drain(world: LabWorld) -> None:
    """A node-pool upgrade: every node cordoned at once, then op-node's drained (`kubectl drain`: the eviction
    API, the pod's grace period). Its replacement has nowhere to go and stays Pending."""
    pods = world.ready_pods("op-node") or world.pods("op-node")
    if not pods:
        raise LabError("node-drain needs an op-node pod to evict: scale op-node to 1 first.")
    for node in NODES:
        world.cluster.cordon(node)
    for pod in pods:
        world.cluster.evict(OP_STACK, pod["metadata"]["name"], grace_seconds=DRAIN_GRACE_SECONDS)


async def heal_drain(world: LabWorld) -> None:
    """The upgrade is over: every node schedulable again."""
    for node in NODES:
        world.cluster.cordon(node, unschedulable=False)


def _data_claim(world: LabWorld, deployment: str) -> str:
    """The claim a Deployment's `data` volume uses now (a restore may have pointed it at a new one)."""
    volumes = world.cluster.get("Deployment", deployment, OP_STACK)["spec"]["template"]["spec"].get("volumes", [])
    claims = [v["persistentVolumeClaim"]["claimName"] for v in volumes
              if v.get("name") == "data" and "persistentVolumeClaim" in v]
    return claims[0] if claims else (OP_NODE_DATA_PVC if deployment == "op-node" else RETH_DATA_PVC)


def _corrupt(deployment: str) -> Action:
    async def corrupt(world: LabWorld) -> None:
        pvc = world.cluster.get("PersistentVolumeClaim", _data_claim(world, deployment), OP_STACK)
        world.faults.corrupt_pvc_uids.add(str(pvc["metadata"]["uid"]))

    return corrupt


async def heal_pvc(world: LabWorld) -> None:
    world.faults.corrupt_pvc_uids.clear()


def _set_snapshots_ready(world: LabWorld, pvc: str, ready: bool) -> None:
    for snapshot in world.cluster.list("VolumeSnapshot", OP_STACK, label_selector=f"jeju.network/volume={pvc}"):
        world.cluster.update_status("VolumeSnapshot", snapshot["metadata"]["name"], OP_STACK,
                                    {**(snapshot.get("status") or {}), "readyToUse": ready})


async def break_reth_pvc_no_snapshot(world: LabWorld) -> None:
    """reth's data volume is corrupt and none of its snapshots can be restored (still being taken)."""
    await _corrupt("reth")(world)
    _set_snapshots_ready(world, RETH_DATA_PVC, False)


async def heal_reth_pvc_no_snapshot(world: LabWorld) -> None:
    _set_snapshots_ready(world, RETH_DATA_PVC, True)
    await heal_pvc(world)


# -- the public RPC (rpc-down) ----------------------------------------------------------------------------
_SAVED_SELECTOR: dict[str, dict[str, str]] = {}


async def break_reth_scaled(world: LabWorld) -> None:
    """Someone scaled reth to 0 (a bad rollout, a wrong kubectl): nothing serves the public RPC."""
    world.cluster.patch("Deployment", "reth", OP_STACK, {"spec": {"replicas": 0}})


async def heal_reth_scaled(world: LabWorld) -> None:
    if world.cluster.get("Deployment", "reth", OP_STACK)["spec"].get("replicas", 1) == 0:
        world.cluster.patch("Deployment", "reth", OP_STACK, {"spec": {"replicas": 1}})


async def break_reth_crash(world: LabWorld) -> None:
    """reth panics and crash-loops; a new pod (a rolling restart) runs."""
    world.faults.crashing_pods |= {uid_of(p) for p in world.pods("reth")}


async def heal_reth_crash(world: LabWorld) -> None:
    world.faults.crashing_pods -= {uid_of(p) for p in world.pods("reth")}


async def break_reth_disk(world: LabWorld) -> None:
    """reth's log volume fills up: its writes fail (No space left on device) and it stops serving (not Ready)."""
    world.faults.disk_percent = DISK_EXHAUSTED_PERCENT


async def heal_reth_disk(world: LabWorld) -> None:
    world.faults.disk_percent = DISK_NORMAL_PERCENT


async def break_selector(world: LabWorld) -> None:
    """A chart change renamed the Service's selector: it matches no pod, so its Endpoints are empty."""
    service = world.cluster.get("Service", "reth", OP_STACK)
    _SAVED_SELECTOR["reth"] = dict(service["spec"]["selector"])
    world.cluster.patch("Service", "reth", OP_STACK, {"spec": {"selector": {APP_LABEL: "reth-v2"}}})


async def heal_selector(world: LabWorld) -> None:
    selector = _SAVED_SELECTOR.pop("reth", {APP_LABEL: "reth"})
    world.cluster.patch("Service", "reth", OP_STACK, {"spec": {"selector": {APP_LABEL: None, **selector}}})


async def break_rate_limit(world: LabWorld) -> None:
    """The public Ingress rate-limited to 1 request per minute (a typo for 100): nearly every request gets 503."""
    world.cluster.patch("Ingress", PUBLIC_INGRESS, OP_STACK,
                        {"metadata": {"annotations": {RATE_LIMIT_ANNOTATION: "1"}}})


async def heal_rate_limit(world: LabWorld) -> None:
    ingress = world.cluster.get("Ingress", PUBLIC_INGRESS, OP_STACK)
    if ingress["metadata"].get("annotations", {}).get(RATE_LIMIT_ANNOTATION) == "1":
        world.cluster.patch("Ingress", PUBLIC_INGRESS, OP_STACK,
                            {"metadata": {"annotations": {RATE_LIMIT_ANNOTATION: None}}})


# -- money and fees ------------------------------------------------------------------------------------
def _starve(account: str) -> tuple[Action, Action]:
    saved: dict[str, str] = {}

    async def starve(world: LabWorld) -> None:
        address = world.deployment.batcher if account == "batcher" else world.deployment.proposer
        saved[account] = str(await _l1(world, "eth_getBalance", address, "latest"))
        await _l1(world, "anvil_setBalance", address, hex(STARVED_BALANCE_WEI))

    async def restore(world: LabWorld) -> None:
        address = world.deployment.batcher if account == "batcher" else world.deployment.proposer
        current = int(str(await _l1(world, "eth_getBalance", address, "latest")), 16)
        if current < 1 * ETH:
            await _l1(world, "anvil_setBalance", address, saved.get(account, hex(100 * ETH)))

    return starve, restore


async def break_gas(world: LabWorld) -> None:
    world.faults.gas_spike_wei = GAS_SPIKE_WEI
    await _l1(world, "anvil_setNextBlockBaseFeePerGas", hex(GAS_SPIKE_WEI))


async def heal_gas(world: LabWorld) -> None:
    world.faults.gas_spike_wei = None
    await _l1(world, "anvil_setNextBlockBaseFeePerGas", hex(GWEI))


async def hold_gas_spike(world: LabWorld) -> None:
    """anvil lowers the base fee of quiet blocks by 12.5 % each: hold the spike every tick."""
    if world.faults.gas_spike_wei:
        await _l1(world, "anvil_setNextBlockBaseFeePerGas", hex(world.faults.gas_spike_wei))


# -- disk ---------------------------------------------------------------------------------------------
async def break_disk(world: LabWorld) -> None:
    world.faults.disk_percent = DISK_FULL_PERCENT
    _log(world, "reth", "warn", "Low disk space on log volume", path="/var/log", used=f"{DISK_FULL_PERCENT}%")


async def heal_disk(world: LabWorld) -> None:
    world.faults.disk_percent = DISK_NORMAL_PERCENT


# -- the exploit ----------------------------------------------------------------------------------------
async def break_exploit(world: LabWorld) -> None:
    from jeju_lab.attacker import drain_forever

    world.background.append(asyncio.create_task(drain_forever(world), name="lab-attacker"))


async def heal_exploit(world: LabWorld) -> None:
    for task in [t for t in world.background if t.get_name() == "lab-attacker"]:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        world.background.remove(task)


async def break_conflict(world: LabWorld) -> None:
    """Wait (up to CONFLICT_WAIT_SECONDS) for the oracle's next block to be due, then propose a wrong root."""
    from jeju_lab.attacker import OutputNotDue, propose_conflicting_output

    deadline = time.monotonic() + CONFLICT_WAIT_SECONDS
    while True:
        try:
            world.faults.conflicting_index = await asyncio.to_thread(propose_conflicting_output, world)
            return
        except OutputNotDue as exc:
            if time.monotonic() > deadline:
                raise LabError(f"{exc} The oracle took no conflicting output within {CONFLICT_WAIT_SECONDS:.0f} s; "
                               "check that the lab's L1 mines (`jeju-play lab status`) and retry.") from exc
        await asyncio.sleep(1.0)


async def heal_conflict(world: LabWorld) -> None:
    from jeju_lab.attacker import delete_outputs_from

    index = world.faults.conflicting_index
    if index is not None:
        await asyncio.to_thread(delete_outputs_from, world, index)
        world.faults.conflicting_index = None


# -- the bridge ------------------------------------------------------------------------------------------
DEPOSIT_STALL_SETTLE = 14.0  # s; 7 L1 blocks, beyond inventories/local deposit_window_blocks (5)
WITHDRAWAL_STALL_SETTLE = 95.0  # s; beyond inventories/local output_stall_seconds (90 s): outputs are overdue


async def break_deposits(world: LabWorld) -> None:
    """The primary L1 endpoint lags: its head stays where it is, so op-node's L1 origin stops (it still seals)."""
    world.l1_primary.stale_head = int(str(await _l1(world, "eth_blockNumber")), 16)


async def heal_deposits(world: LabWorld) -> None:
    world.l1_primary.stale_head = None


# -- error rates ----------------------------------------------------------------------------------------
ERROR_STORM_SETTLE = 10.0  # s; half of inventories/local's 20 s log window: the errors stand out of the baseline


async def break_error_storm(world: LabWorld) -> None:
    """The op-node pods running now log their errors at ten times the baseline (jeju_lab/log_baseline.py)."""
    from jeju_lab.log_baseline import ELEVATED_COMPONENT

    running = [p for p in world.pods(ELEVATED_COMPONENT) if p.get("status", {}).get("phase") == "Running"]
    if not running:
        raise LabError(f"errors-elevated needs a running {ELEVATED_COMPONENT} pod: `jeju-play lab status` shows it.")
    world.faults.error_storm_pods = {uid_of(p) for p in running}


async def heal_error_storm(world: LabWorld) -> None:
    world.faults.error_storm_pods.clear()


_starve_batcher, _feed_batcher = _starve("batcher")
_starve_proposer, _feed_proposer = _starve("proposer")

FAULTS: dict[str, Fault] = {f.name: f for f in [
    Fault("l1-rpc-down", "network-down", "The primary L1 (Base) RPC refuses connections; the backup answers.",
          "Point op-node's OP_NODE_L1_ETH_RPC at the backup and restart it.", break_l1, heal_l1,
          recovered=recovery.blocks_flowing),
    Fault("sequencer-oom", "network-down", "op-node is OOMKilled again and again (CrashLoopBackOff) at 2Gi.",
          "Raise op-node's memory limit to 4Gi or more; the new pod runs.", _nothing, _nothing,
          recovered=recovery.blocks_flowing),
    Fault("sequencer-crash", "network-down", "op-node crash-loops; a restart (new pod) heals it.",
          "kubectl rollout restart deployment/op-node.", break_crash, heal_crash,
          recovered=recovery.blocks_flowing),
    Fault("restart-stuck", "network-down",
          "op-node crash-loops holding its data volume: a rolling restart's new pod cannot attach it.",
          "Scale op-node to 0, then back to 1 (the runbook's recovery when a restart does not work).",
          break_stuck_restart, heal_stuck_restart,
          recovered=recovery.blocks_flowing),
    Fault("bad-deploy", "rollback",
          "A new op-node release crash-loops; the rollout stalls with the old pod still serving.",
          "kubectl rollout undo deployment/op-node (back to the previous revision).", break_deploy, heal_deploy,
          recovered=recovery.rolled_back),
    Fault("bad-block", "network-down", "Derivation fails on a named L2 block; restarts do not help.",
          "None automatic: escalate to the OP Stack team.", break_bad_block, heal_bad_block,
          recovered=recovery.blocks_flowing),
    Fault("node-lost", "network-down", "op-node's node is NotReady; its pod is stuck until deleted.",
          "Delete the stuck pod so that it reschedules onto a Ready node.", break_node, heal_node,
          recovered=recovery.blocks_flowing),
    Fault("node-drain", "network-down",
          "A node-pool upgrade cordoned every node and drained op-node's: its new pod is Pending.",
          "Uncordon a Ready node op-node fits (kubectl uncordon NODE): the upgrade waits, the sequencer cannot.",
          break_drain, heal_drain, recovered=recovery.blocks_flowing),
    Fault("pvc-corrupt", "network-down", "op-node's data volume is corrupt; op-node crash-loops.",
          "Scale to 0, restore op-node-data from the newest VolumeSnapshot, scale to 1.", _corrupt("op-node"),
          heal_pvc, also_for={"data-corruption": recovery.blocks_flowing},
          recovered=recovery.blocks_flowing),
    Fault("batcher-unfunded", "batcher-failing", "The batcher has no ETH: batches fail (insufficient funds).",
          "Top up the batcher from the funding wallet.", _starve_batcher, _feed_batcher,
          settle_seconds=BATCH_STALL_SETTLE, also_for={"low-balance": recovery.balances_funded},
          recovered=recovery.batches_landing),
    Fault("gas-spike", "batcher-failing", "L1 base fee at 300 gwei, above the batcher's 100 gwei fee limit.",
          "Raise OP_BATCHER_TXMGR_FEE_LIMIT_THRESHOLD, or wait.", break_gas, heal_gas,
          settle_seconds=BATCH_STALL_SETTLE,
          recovered=recovery.batches_landing),
    Fault("eigenda-down", "batcher-failing", "eigenda-proxy answers 503; Alt-DA batches fail.",
          "Set OP_BATCHER_ALTDA_ENABLED=false (calldata) and restart the batcher.", _nothing, _nothing,
          settle_seconds=BATCH_STALL_SETTLE,
          recovered=recovery.batches_landing),
    Fault("proposer-unfunded", "proposer-stuck", "The proposer has no ETH: proposals fail.",
          "Top up the proposer from the funding wallet.", _starve_proposer, _feed_proposer,
          also_for={"low-balance": recovery.balances_funded},
          recovered=recovery.outputs_proposed),
    Fault("proposer-partitioned", "proposer-stuck", "op-proposer cannot reach op-node (i/o timeout).",
          "Restart op-proposer (a new pod is not partitioned).", break_partition, heal_partition,
          recovered=recovery.outputs_proposed),
    Fault("conflicting-output", "proposer-stuck", "An output root on L1 does not match op-node's.",
          "Treat as a security incident if not our proposer; the challenger deletes it.",
          break_conflict, heal_conflict,
          recovered=recovery.outputs_proposed),
    Fault("rpc-overload", "rpc-degraded", "Public RPC at 1.4 s (lab threshold 1 s) and reth CPU high at one replica.",
          "Scale reth to 3 replicas.", _nothing, _nothing,
          recovered=recovery.rpc_fast),
    Fault("indexer-db-slow", "rpc-degraded", "Public RPC slow while the indexer's database is slow.",
          "Scale the indexer (subsquid) to 0.", _nothing, _nothing,
          recovered=recovery.rpc_fast),
    Fault("disk-full", "high-resource", "reth's log volume is over 80 % full.",
          "Delete logs older than 7 days: find /var/log -name '*.log' -mtime +7 -delete.", break_disk, heal_disk,
          recovered=recovery.usage_normal),
    Fault("reth-memory-high", "high-resource", "reth's memory is over 80 % of its limit; a restart reclaims it.",
          "kubectl rollout restart deployment/reth.", break_reth_memory, heal_reth_memory,
          recovered=recovery.usage_normal),
    Fault("reth-memory-leak", "high-resource", "reth leaks: every pod, new ones too, is over 80 % of its memory.",
          "None automatic: a restart does not help; hand to the development team.", break_reth_leak, heal_reth_leak,
          recovered=recovery.usage_normal),
    Fault("reth-scaled-to-zero", "rpc-down", "reth is at 0 replicas: the public RPC answers 503 (no endpoint).",
          "Scale reth back to its replica count.", break_reth_scaled, heal_reth_scaled,
          recovered=recovery.rpc_serving),
    Fault("reth-oom", "rpc-down", "reth is OOMKilled again and again at its 8Gi limit; the public RPC is down.",
          "Raise reth's memory limit by a step (10Gi or more holds).", _nothing, _nothing,
          recovered=recovery.rpc_serving),
    Fault("reth-crash", "rpc-down", "reth crash-loops (a panic); the public RPC is down. A new pod runs.",
          "kubectl rollout restart deployment/reth.", break_reth_crash, heal_reth_crash,
          recovered=recovery.rpc_serving),
    Fault("reth-disk-full", "rpc-down",
          "reth's log volume is 100 % full: No space left on device, reth is not Ready, the public RPC is down.",
          "Delete reth's old logs (high-resource's cleanup); reth serves again.", break_reth_disk, heal_reth_disk,
          recovered=recovery.rpc_serving),
    Fault("rpc-selector-broken", "rpc-down", "The reth Service's selector matches no pod: empty Endpoints, 503.",
          "None automatic: fix the selector in GitOps (the run reports the drift).", break_selector, heal_selector,
          recovered=recovery.rpc_serving),
    Fault("rpc-rate-limited", "rpc-down", "The public Ingress is rate-limited to 1 request per minute: 503s.",
          "Restore the inventory's rate limit on the Ingress.", break_rate_limit, heal_rate_limit,
          recovered=recovery.rpc_serving),
    Fault("reth-volume-corrupt", "data-corruption", "reth's data volume is corrupt (MDBX_CORRUPTED); reth crash-loops.",
          "Scale reth to 0, restore reth-data's newest snapshot into a new PVC, point reth at it, scale up.",
          _corrupt("reth"), heal_pvc, recovered=recovery.rpc_serving),
    Fault("reth-volume-corrupt-no-snapshot", "data-corruption",
          "reth's data volume is corrupt and no snapshot of it is ready to restore.",
          "None automatic: restore from another backup.", break_reth_pvc_no_snapshot, heal_reth_pvc_no_snapshot,
          recovered=recovery.rpc_serving),
    Fault(faults_restarts.OOM, "sequencer-restarts",
          "op-node is OOMKilled every few seconds at 2Gi but comes back Ready: blocks still flow.",
          "Raise op-node's memory limit to 4Gi or more; the new pod stops restarting.",
          faults_restarts.break_restarts, faults_restarts.heal_restarts,
          settle_seconds=faults_restarts.SETTLE_SECONDS, recovered=recovery.restarts_stopped),
    Fault(faults_restarts.LIVENESS, "sequencer-restarts",
          "op-node's liveness probe times out (1 s; /healthz answers in 2 s): the kubelet kills a healthy op-node.",
          "None automatic: raise livenessProbe.timeoutSeconds to 3 or more in GitOps (the run reports the probe).",
          faults_restarts.break_restarts, faults_restarts.heal_restarts,
          settle_seconds=faults_restarts.SETTLE_SECONDS, recovered=recovery.restarts_stopped),
    Fault(faults_restarts.FLAPPING, "sequencer-restarts",
          "The primary L1 RPC answers 502 one second in four; op-node dies on it at start-up and restarts.",
          "Point op-node's OP_NODE_L1_ETH_RPC at the backup L1 RPC.",
          faults_restarts.break_flapping, faults_restarts.heal_flapping,
          settle_seconds=faults_restarts.SETTLE_SECONDS, recovered=recovery.restarts_stopped),
    Fault(faults_restarts.PANICS, "sequencer-restarts",
          "op-node panics every few seconds with an unknown error; blocks still flow between the restarts.",
          "None automatic: escalate with the restart timeline (a new pod does not panic).",
          faults_restarts.break_panics, faults_restarts.heal_panics,
          settle_seconds=faults_restarts.SETTLE_SECONDS, recovered=recovery.restarts_stopped),
    Fault("exploit", "security-breach", "An attacker drains the OptimismPortal every 2 s until it is paused.",
          "Pause through the guardian Safe; stop sequencer, batcher and proposer.", break_exploit, heal_exploit,
          recovered=recovery.network_paused_and_stopped),
    Fault("deposits-stuck", "bridge-stalled",
          "The primary L1 RPC lags (its head stops): op-node's L1 origin stops, blocks are still sealed, deposits "
          "made on L1 are not included on L2.",
          "Point op-node's OP_NODE_L1_ETH_RPC at the backup L1 RPC; the origin catches up and the deposits land.",
          break_deposits, heal_deposits, settle_seconds=DEPOSIT_STALL_SETTLE,
          recovered=recovery.deposits_included),
    Fault("withdrawals-stuck", "bridge-stalled",
          "Outputs stop: op-proposer cannot reach op-node, so no state root lands and withdrawals cannot be proven.",
          "Restart op-proposer (its new pod reaches op-node); proofs resume with the next output.",
          break_partition, heal_partition, settle_seconds=WITHDRAWAL_STALL_SETTLE,
          recovered=recovery.outputs_proposed),
    Fault("errors-elevated", "elevated-errors",
          "op-node logs its gossip errors at ten times its baseline (its peers are gone); blocks still flow.",
          "No known signature: read the top messages; restart op-node (a new pod finds peers, logs at baseline).",
          break_error_storm, heal_error_storm, settle_seconds=ERROR_STORM_SETTLE,
          recovered=recovery.errors_at_baseline),
]}


def fault(name: str) -> Fault:
    if name not in FAULTS:
        raise BadInput(f"Unknown fault '{name}'. `jeju-play lab faults` lists them: {', '.join(FAULTS)}.")
    return FAULTS[name]


async def break_fault(world: LabWorld, name: str) -> None:
    item = fault(name)
    await item.breaks(world)
    world.faults.mark(name)
    world.cluster.refresh()
    world.sync()


async def heal_fault(world: LabWorld, name: str) -> None:
    item = fault(name)
    await item.heals(world)
    world.faults.active.pop(name, None)
    world.cluster.refresh()
    world.sync()
