"""The lab's one supervising process: `python -m jeju_lab.supervisor --dir .lab --inventory-file ...`.

It owns two anvil processes (L1 "Base" and L2 Jeju), deploys the L1 contracts, and runs in one asyncio loop
the Kubernetes API double, the op-stack simulators, the comms double (Slack, Discord, PagerDuty, Statuspage), the
glue and a small control API for `jeju-play lab`.
`jeju-play lab up` starts it in the background; `lab down` asks it to stop (then stops it by pid).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from jeju_lab import layout
from jeju_lab.anvil import AnvilNode
from jeju_lab.chains import accounts
from jeju_lab.chains.deploy import L1_BLOCK_TIME, L1_CHAIN_ID, L2_CHAIN_ID, L1Deployment, deploy_l1
from jeju_lab.control_api import ControlApi
from jeju_lab.depositor import Depositor
from jeju_lab.faults import hold_gas_spike
from jeju_lab.kube_double import Cluster, start_server, write_kubeconfig
from jeju_lab.log_baseline import LogBaseline
from jeju_lab.monitoring import LabMonitoring, Target
from jeju_lab.pod_behaviour import PodBehaviour
from jeju_lab.sim import Conditions, RethLoad, RollupConfig, SimStack
from jeju_lab.sim.comms_double import CommsDouble
from jeju_lab.sim.kube_metrics import ClusterMetrics
from jeju_lab.topology import INDEXER, KUBE_CONTEXT, NODES, OP_STACK, Endpoints, objects
from jeju_lab.world import LabWorld

HEALTHY_TIMEOUT_SECONDS = 25.0


def start_chains(lab: Path) -> tuple[AnvilNode, AnvilNode]:
    l1 = AnvilNode(chain_id=L1_CHAIN_ID, block_time=L1_BLOCK_TIME, log_path=lab / "anvil-l1.log").start()
    # optimism: the L2 takes deposit transactions (type 0x7e), which the sequencer derives from the portal's events
    l2 = AnvilNode(chain_id=L2_CHAIN_ID, log_path=lab / "anvil-l2.log",
                   extra_args=["--no-mining", "--network", "optimism"]).start()
    return l1, l2


def snapshot_times() -> tuple[str, str]:
    now = datetime.now(UTC).replace(microsecond=0)
    return ((now - timedelta(days=1, hours=2)).isoformat().replace("+00:00", "Z"),
            (now - timedelta(hours=2)).isoformat().replace("+00:00", "Z"))


async def build_world(lab: Path, l1: AnvilNode, l2: AnvilNode, deployment: L1Deployment) -> LabWorld:
    cluster = Cluster(ready_delay=0.3, nodes=NODES, namespaces=(OP_STACK, INDEXER, "kube-system"))
    conditions = Conditions(op_node_ready=False, batcher_running=False, proposer_running=False,
                            proposer_l2oo_address=deployment.l2_output_oracle)
    config = RollupConfig(l1_chain_id=L1_CHAIN_ID, l2_chain_id=L2_CHAIN_ID,
                          batch_inbox_address=deployment.batch_inbox, batcher_address=deployment.batcher,
                          deposit_contract_address=deployment.optimism_portal)
    world_ref: dict[str, LabWorld] = {}

    def log(component: str, line: str) -> None:
        if "world" in world_ref:
            world_ref["world"].route_log(component, line)

    stack = await SimStack(conditions, config, l2_url=l2.url, batcher_key=accounts.BATCHER.private_key(),
                           proposer_key=accounts.PROPOSER.private_key(), log=log).start()
    reth_load = RethLoad()
    primary = await stack.add_proxy(l1.url, "l1-primary")
    backup = await stack.add_proxy(l1.url, "l1-backup")
    reth = await stack.add_proxy(l2.url, "reth", serve_metrics=True)  # the public RPC's proxy (proxyd)
    reth.latency_model = reth_load.latency_ms
    world = LabWorld(cluster=cluster, stack=stack, deployment=deployment, l1_url=l1.url, l2_url=l2.url,
                     l1_primary=primary, l1_backup=backup, reth=reth, reth_load=reth_load)
    world.service_urls = {"http://op-node:9545": stack.op_node.url, "http://reth:8545": reth.url,
                          "http://reth:8551": l2.url, "http://eigenda-proxy:3100": stack.eigenda.url}
    world_ref["world"] = world
    behaviour = PodBehaviour(world)
    world.behaviour = behaviour
    cluster.set_pod_health_hook(behaviour.health)
    cluster.set_exec_handler(behaviour.exec)
    cluster.set_metrics_hook(behaviour.usage)
    cluster.subscribe(world.schedule_sync)
    endpoints = Endpoints(l1_primary=primary.url, l1_backup=backup.url, l2_rpc=reth.url, op_node=stack.op_node.url,
                          eigenda=stack.eigenda.url, l2_output_oracle=deployment.l2_output_oracle)
    for obj in objects(endpoints, snapshot_times()):
        cluster.create(obj)
    world.background.append(asyncio.create_task(Depositor().run(world), name="lab-depositor"))  # the bridge's user
    return world


def presign_pause(lab: Path, l1: AnvilNode, deployment: L1Deployment) -> Path:
    from web3 import Web3

    from jeju_lab.chains import safe_tools

    w3 = Web3(Web3.HTTPProvider(l1.url))
    return safe_tools.presign_pause(w3, deployment.guardian_safe, deployment.superchain_config,
                                    lab / "presigned", accounts.GUARDIAN_OWNERS[1:])


async def tick(world: LabWorld, behaviour: PodBehaviour, noise: LogBaseline | None = None) -> None:
    behaviour.crash_logs()
    await hold_gas_spike(world)
    if noise is not None:
        noise.emit(world)


RETH_LOGS_PVC = "reth-logs"
DATA_VOLUME_USED = 0.55  # what `df` shows for /data in the lab's pods


async def start_cluster_metrics(world: LabWorld) -> ClusterMetrics:
    """kube-state-metrics, cAdvisor and the kubelet's volume stats, read from the double (and the disk fault)."""
    cluster = world.cluster

    def pods() -> list[dict[str, object]]:
        return [*cluster.list("Pod", OP_STACK), *cluster.list("Pod", INDEXER)]

    def used_fraction(_namespace: str, claim: str) -> float:
        return world.faults.disk_percent / 100 if claim == RETH_LOGS_PVC else DATA_VOLUME_USED

    return await ClusterMetrics(pods, lambda: [*cluster.list("Deployment", OP_STACK),
                                               *cluster.list("Deployment", INDEXER)],
                                lambda: cluster.list("PersistentVolumeClaim", OP_STACK),
                                cluster.container_usage, used_fraction).start()


async def start_monitoring(world: LabWorld, monitoring: LabMonitoring) -> ClusterMetrics:
    """The cluster's metrics endpoints, then Prometheus (scraping every target) and Alertmanager."""
    cluster_metrics = await start_cluster_metrics(world)
    monitoring.start(scrape_targets(world, cluster_metrics))
    return cluster_metrics


def scrape_targets(world: LabWorld, cluster_metrics: ClusterMetrics) -> list[Target]:
    """Every metrics endpoint of the lab, by the job names monitoring/alerts.yml uses."""
    targets = [Target(job, endpoint.address) for job, endpoint in world.stack.metrics.items()]
    if world.reth.metrics_endpoint is not None:
        targets.append(Target("rpc-proxy", world.reth.metrics_endpoint.address))
    targets += [Target(job, cluster_metrics.address, path, honor_labels=True)
                for job, path in ClusterMetrics.paths.items()]
    return targets


def log_phases(phases: dict[str, float]) -> None:
    """How long each step of the start took, into supervisor.log (the first entry is the start)."""
    steps = list(phases.items())
    print("lab start, seconds per phase:",
          ", ".join(f"{name} {at - steps[i][1]:.2f}" for i, (name, at) in enumerate(steps[1:])), flush=True)


async def wait_healthy(world: LabWorld) -> None:
    from jeju_lab.sim.rpc import JsonRpcClient, hex_int

    assert world.stack.session is not None
    l2 = JsonRpcClient(world.stack.session, world.l2_url)
    deadline = time.monotonic() + HEALTHY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if world.ready_pods("op-node") and hex_int(await l2.call("eth_blockNumber")) >= 1:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("the lab did not produce its first L2 block in time")


async def stop_servers(world: LabWorld | None, cluster_metrics: ClusterMetrics | None, comms: CommsDouble) -> None:
    """The in-process servers, the world last; one that fails to stop does not keep the others up."""
    for server in (comms, cluster_metrics):
        if server is not None:
            with contextlib.suppress(Exception):
                await server.stop()
    if world is not None:
        await world.stop()
        with contextlib.suppress(Exception):
            await world.stack.stop()


async def serve(args: argparse.Namespace) -> None:
    lab = Path(args.dir)
    l1, l2 = start_chains(lab)
    state = layout.LabState(lab)
    state.write({"status": "starting", "supervisor_pid": os.getpid(), "anvil_pids": {"l1": l1.pid, "l2": l2.pid}})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    world: LabWorld | None = None
    monitoring = LabMonitoring(lab, environment=args.environment)
    cluster_metrics: ClusterMetrics | None = None
    comms = CommsDouble()  # Slack, Discord, PagerDuty and Statuspage for the notification modules
    phases: dict[str, float] = {"start": time.monotonic()}
    try:
        deployment = await asyncio.to_thread(deploy_l1, l1.url)
        presigned = await asyncio.to_thread(presign_pause, lab, l1, deployment)
        phases["contracts"] = time.monotonic()
        world = await build_world(lab, l1, l2, deployment)
        behaviour = world.behaviour
        kube = await start_server(world.cluster)
        kubeconfig = write_kubeconfig(lab / "kubeconfig", kube.url, context=KUBE_CONTEXT, namespace=OP_STACK)
        control = await ControlApi(world, stop, {"l1": l1, "l2": l2}).start()
        await comms.start()
        world.background.append(asyncio.create_task(world.tick_forever(partial(tick, world, behaviour, LogBaseline())),
                                                    name="lab-tick"))
        phases["world"] = time.monotonic()
        cluster_metrics = await start_monitoring(world, monitoring)
        state.write({"status": "starting", "supervisor_pid": os.getpid(),
                     "anvil_pids": {"l1": l1.pid, "l2": l2.pid}, "monitoring": monitoring.state()})
        await asyncio.gather(wait_healthy(world), asyncio.to_thread(monitoring.wait_ready))
        log_phases({**phases, "healthy": time.monotonic()})
        endpoints = layout.endpoints_of(world, kube.url, l1.url, l2.url, comms_url=comms.url)
        layout.write_inventory(Path(args.inventory_file), world, endpoints, kubeconfig, presigned.parent,
                               monitoring=monitoring, comms=comms)
        state.write({"status": "healthy", "supervisor_pid": os.getpid(), "control_url": control.url,
                     "anvil_pids": {"l1": l1.pid, "l2": l2.pid}, "monitoring": monitoring.state(),
                     "endpoints": endpoints,
                     "kubeconfig": str(kubeconfig), "inventory_file": args.inventory_file,
                     "deployment": deployment.to_dict(), "started": datetime.now(UTC).isoformat()})
        await stop.wait()
        await control.stop()
        await kube.stop()
    except Exception as exc:
        state.write({"status": "failed", "error": f"{type(exc).__name__}: {exc}", "supervisor_pid": os.getpid(),
                     "anvil_pids": {"l1": l1.pid, "l2": l2.pid}, "monitoring": monitoring.state()})
        raise
    finally:
        monitoring.stop()
        await stop_servers(world, cluster_metrics, comms)
        l1.stop()
        l2.stop()
        with contextlib.suppress(FileNotFoundError):
            Path(args.inventory_file).unlink()
        state.mark_stopped()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True, help="the lab folder (.lab): pids, logs, kubeconfig, state")
    parser.add_argument("--inventory-file", required=True, help="where to write inventories/local/.../lab.yml")
    parser.add_argument("--environment", default="local",
                        help="the inventory this lab is (local; local-K in a fleet): its rules' values and label")
    args = parser.parse_args()
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
