"""The lab's one supervising process: `python -m jeju_play.lab.supervisor --dir .lab --inventory-file ...`.

It owns two anvil processes (L1 "Base" and L2 Jeju), deploys the L1 contracts, and runs in one asyncio loop
the Kubernetes API double, the op-stack simulators, the glue and a small control API for `jeju-play lab`.
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
from pathlib import Path

from jeju_play.lab import layout
from jeju_play.lab.anvil import AnvilNode
from jeju_play.lab.chains import accounts
from jeju_play.lab.chains.deploy import L1_BLOCK_TIME, L1_CHAIN_ID, L2_CHAIN_ID, L1Deployment, deploy_l1
from jeju_play.lab.control_api import ControlApi
from jeju_play.lab.faults import hold_gas_spike
from jeju_play.lab.kube import Cluster, start_server, write_kubeconfig
from jeju_play.lab.pod_behaviour import PodBehaviour
from jeju_play.lab.sim import Conditions, RethLoad, RollupConfig, SimStack
from jeju_play.lab.topology import INDEXER, NODES, OP_STACK, Endpoints, objects
from jeju_play.lab.world import LabWorld

HEALTHY_TIMEOUT_SECONDS = 25.0


def start_chains(lab: Path) -> tuple[AnvilNode, AnvilNode]:
    l1 = AnvilNode(chain_id=L1_CHAIN_ID, block_time=L1_BLOCK_TIME, log_path=lab / "anvil-l1.log").start()
    l2 = AnvilNode(chain_id=L2_CHAIN_ID, log_path=lab / "anvil-l2.log", extra_args=["--no-mining"]).start()
    return l1, l2


def snapshot_times() -> tuple[str, str]:
    now = datetime.now(UTC).replace(microsecond=0)
    return ((now - timedelta(days=1, hours=2)).isoformat().replace("+00:00", "Z"),
            (now - timedelta(hours=2)).isoformat().replace("+00:00", "Z"))


async def build_world(lab: Path, l1: AnvilNode, l2: AnvilNode, deployment: L1Deployment) -> LabWorld:
    cluster = Cluster(ready_delay=0.3, nodes=NODES, namespaces=(OP_STACK, INDEXER))
    conditions = Conditions(op_node_ready=False, batcher_running=False, proposer_running=False,
                            proposer_l2oo_address=deployment.l2_output_oracle)
    config = RollupConfig(l1_chain_id=L1_CHAIN_ID, l2_chain_id=L2_CHAIN_ID,
                          batch_inbox_address=deployment.batch_inbox, batcher_address=deployment.batcher)
    world_ref: dict[str, LabWorld] = {}

    def log(component: str, line: str) -> None:
        if "world" in world_ref:
            world_ref["world"].route_log(component, line)

    stack = await SimStack(conditions, config, l2_url=l2.url, batcher_key=accounts.BATCHER.private_key(),
                           proposer_key=accounts.PROPOSER.private_key(), log=log).start()
    reth_load = RethLoad()
    primary = await stack.add_proxy(l1.url, "l1-primary")
    backup = await stack.add_proxy(l1.url, "l1-backup")
    reth = await stack.add_proxy(l2.url, "reth")
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
    return world


def presign_pause(lab: Path, l1: AnvilNode, deployment: L1Deployment) -> Path:
    from web3 import Web3

    from jeju_play.lab.chains import safe_tools

    w3 = Web3(Web3.HTTPProvider(l1.url))
    return safe_tools.presign_pause(w3, deployment.guardian_safe, deployment.superchain_config,
                                    lab / "presigned", accounts.GUARDIAN_OWNERS[1:])


async def tick(world: LabWorld, behaviour: PodBehaviour) -> None:
    behaviour.crash_logs()
    await hold_gas_spike(world)


async def wait_healthy(world: LabWorld) -> None:
    from jeju_play.lab.sim.rpc import JsonRpcClient, hex_int

    assert world.stack.session is not None
    l2 = JsonRpcClient(world.stack.session, world.l2_url)
    deadline = time.monotonic() + HEALTHY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if world.ready_pods("op-node") and hex_int(await l2.call("eth_blockNumber")) >= 1:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("the lab did not produce its first L2 block in time")


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
    try:
        deployment = await asyncio.to_thread(deploy_l1, l1.url)
        presigned = await asyncio.to_thread(presign_pause, lab, l1, deployment)
        world = await build_world(lab, l1, l2, deployment)
        behaviour = world.behaviour
        kube = await start_server(world.cluster)
        kubeconfig = write_kubeconfig(lab / "kubeconfig", kube.url, context="jeju-lab", namespace=OP_STACK)
        control = await ControlApi(world, stop, {"l1": l1, "l2": l2}).start()
        world.background.append(asyncio.create_task(world.tick_forever(lambda: tick(world, behaviour)),
                                                    name="lab-tick"))
        await wait_healthy(world)
        endpoints = layout.endpoints_of(world, kube.url, l1.url, l2.url)
        layout.write_inventory(Path(args.inventory_file), world, endpoints, kubeconfig, presigned.parent)
        state.write({"status": "healthy", "supervisor_pid": os.getpid(), "control_url": control.url,
                     "anvil_pids": {"l1": l1.pid, "l2": l2.pid}, "endpoints": endpoints,
                     "kubeconfig": str(kubeconfig), "inventory_file": args.inventory_file,
                     "deployment": deployment.to_dict(), "started": datetime.now(UTC).isoformat()})
        await stop.wait()
        await control.stop()
        await kube.stop()
    except Exception as exc:
        state.write({"status": "failed", "error": f"{type(exc).__name__}: {exc}", "supervisor_pid": os.getpid(),
                     "anvil_pids": {"l1": l1.pid, "l2": l2.pid}})
        raise
    finally:
        if world is not None:
            await world.stop()
            with contextlib.suppress(Exception):
                await world.stack.stop()
        l1.stop()
        l2.stop()
        with contextlib.suppress(FileNotFoundError):
            Path(args.inventory_file).unlink()
        state.mark_stopped()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True, help="the lab folder (.lab): pids, logs, kubeconfig, state")
    parser.add_argument("--inventory-file", required=True, help="where to write inventories/local/.../lab.yml")
    args = parser.parse_args()
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
