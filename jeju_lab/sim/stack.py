"""All simulators in one asyncio process: op-node (RPC, sequencer, derivation), op-batcher, op-proposer,
eigenda-proxy, and RPC proxies. The integration layer builds one `SimStack`, keeps its `conditions` up to
date from the Kubernetes double, and routes `log(component, line)` to pod logs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType

import aiohttp

from jeju_lab.sim.batcher import Batcher
from jeju_lab.sim.conditions import Conditions
from jeju_lab.sim.deposits import DepositFeed
from jeju_lab.sim.derivation import Deriver
from jeju_lab.sim.eigenda import EigenDAProxy
from jeju_lab.sim.logfmt import ComponentLog, LogSink, discard
from jeju_lab.sim.metrics import BatcherCollector, MetricsEndpoint, OpNodeCollector, ProposerCollector, registry_of
from jeju_lab.sim.op_node import OP_NODE_VERSION, OpNode
from jeju_lab.sim.proposer import Proposer
from jeju_lab.sim.proxy import RpcProxy
from jeju_lab.sim.rollup import RollupConfig, RollupState, Timing
from jeju_lab.sim.rpc import JsonRpcClient
from jeju_lab.sim.sequencer import Sequencer
from jeju_lab.sim.txsend import TxSender

RESTART_DELAY_S = 1.0
METRICS_FOLLOW_S = 0.2  # how soon a metrics endpoint opens or closes after its pod's readiness changes
BATCHER_VERSION = "v1.11.0-jeju-lab"
PROPOSER_VERSION = "v1.10.0-jeju-lab"


class SimStack:
    """`async with SimStack(...) as stack:` starts everything; leaving the block stops it."""

    def __init__(
        self,
        conditions: Conditions,
        config: RollupConfig,
        *,
        l2_url: str,
        batcher_key: str,
        proposer_key: str,
        timing: Timing | None = None,
        log: LogSink = discard,
        op_node_port: int = 0,
        eigenda_port: int = 0,
    ) -> None:
        self.conditions = conditions
        self.config = config
        self.timing = timing or Timing()
        self.l2_url = l2_url
        self.log_sink = log
        self.state = RollupState()
        self._keys = (batcher_key, proposer_key)
        self._ports = (op_node_port, eigenda_port)
        self._tasks: list[asyncio.Task[None]] = []
        self.proxies: list[RpcProxy] = []
        self.session: aiohttp.ClientSession | None = None
        self.metrics: dict[str, MetricsEndpoint] = {}  # component -> its /metrics (listening while its pod runs)

    def _log(self, component: str) -> ComponentLog:
        return ComponentLog(component, self.log_sink)

    async def start(self) -> SimStack:
        self.session = session = aiohttp.ClientSession()
        c, t = self.conditions, self.timing
        batcher_sender = TxSender(self._keys[0], self.config.l1_chain_id, t.receipt_timeout_s)
        proposer_sender = TxSender(self._keys[1], self.config.l1_chain_id, t.receipt_timeout_s)
        node_log = self._log("op-node")
        self.sequencer = Sequencer(
            session,
            c,
            timing=t,
            state=self.state,
            l2_url=self.l2_url,
            log=node_log,
            active=not c.sequencer_stopped_at_start,
            deposits=DepositFeed(self.config.deposit_contract_address, JsonRpcClient(session, self.l2_url), node_log),
        )
        self.deriver = Deriver(
            session, c, config=self.config, timing=t, state=self.state, l2_url=self.l2_url, log=node_log
        )
        self.op_node = OpNode(
            session,
            c,
            config=self.config,
            state=self.state,
            sequencer=self.sequencer,
            l2_url=self.l2_url,
            log=node_log,
            port=self._ports[0],
        )
        self.eigenda = EigenDAProxy(c, self._log("eigenda-proxy"), port=self._ports[1])
        self.batcher = Batcher(
            session, c, config=self.config, timing=t, sender=batcher_sender, log=self._log("op-batcher")
        )
        self.proposer = Proposer(session, c, proposer_sender, self._log("op-proposer"))
        await self.op_node.start()
        await self.eigenda.start()
        await self._start_metrics()
        c.batcher_rollup_url = c.batcher_rollup_url or self.op_node.url
        c.batcher_l2_url = c.batcher_l2_url or self.l2_url
        c.batcher_altda_server = c.batcher_altda_server or self.eigenda.url
        c.proposer_rollup_url = c.proposer_rollup_url or self.op_node.url
        for name, loop in [
            ("op-node", self.op_node.run),
            ("sequencer", self.sequencer.run),
            ("derivation", self.deriver.run),
            ("op-batcher", self.batcher.run),
            ("op-proposer", self.proposer.run),
            ("metrics", self._follow_metrics),
        ]:
            self._tasks.append(asyncio.create_task(self._supervise(name, loop), name=f"sim-{name}"))
        return self

    async def _supervise(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Keep a simulator loop alive: an unexpected error is logged and the loop restarted."""
        while True:
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._log(name).error("Simulator loop crashed, restarting", err=repr(exc))
                await asyncio.sleep(RESTART_DELAY_S)

    async def _start_metrics(self) -> None:
        op_node = OpNodeCollector(self.state, OP_NODE_VERSION)

        async def refresh_op_node() -> None:
            op_node.record_sync_status(await self.op_node.sync_status())

        self.metrics = {
            "op-node": MetricsEndpoint(registry_of(op_node), refresh=refresh_op_node),
            "op-batcher": MetricsEndpoint(registry_of(BatcherCollector(self.batcher.stats, BATCHER_VERSION))),
            "op-proposer": MetricsEndpoint(registry_of(ProposerCollector(self.proposer.stats, PROPOSER_VERSION))),
        }
        for endpoint in self.metrics.values():
            await endpoint.start(listening=False)
        await self._follow_metrics_once()

    def _component_runs(self) -> dict[str, bool]:
        c = self.conditions
        return {"op-node": c.op_node_ready, "op-batcher": c.batcher_running, "op-proposer": c.proposer_running}

    async def _follow_metrics_once(self) -> None:
        for name, runs in self._component_runs().items():
            await self.metrics[name].set_listening(runs)

    async def _follow_metrics(self) -> None:
        """A pod that is down serves no metrics: each endpoint listens while its component runs."""
        while True:
            await self._follow_metrics_once()
            await asyncio.sleep(METRICS_FOLLOW_S)

    async def add_proxy(self, upstream_url: str, name: str, port: int = 0, *, serve_metrics: bool = False) -> RpcProxy:
        """An RPC proxy in front of `upstream_url`; with serve_metrics its proxyd metrics get a /metrics endpoint."""
        if self.session is None:
            raise RuntimeError("start the SimStack before adding proxies")
        proxy = RpcProxy(self.session, upstream_url, name, port)
        await proxy.start()
        if serve_metrics:
            proxy.metrics_endpoint = await MetricsEndpoint(proxy.metrics.registry).start()
        self.proxies.append(proxy)
        return proxy

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for proxy in self.proxies:
            await proxy.stop()
        for endpoint in self.metrics.values():
            await endpoint.stop()
        if self.session is not None:
            await self.op_node.server.stop()
            await self.eigenda.stop()
            await self.session.close()
            self.session = None

    async def __aenter__(self) -> SimStack:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
