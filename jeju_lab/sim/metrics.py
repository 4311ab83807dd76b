"""The simulators' Prometheus metrics, under the names and labels the real services use (docs/metrics.md).

Each component has its own registry and `/metrics` endpoint on loopback. An endpoint listens only while its
component's pod runs (a pod that is down has no endpoint: Prometheus sees its target down). The collectors read
the simulators' state at scrape time; op-node's refs come from the same sync status its RPC answers.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Summary, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from jeju_lab.sim.server import LoopbackServer

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from jeju_lab.sim.batcher import BatcherStats
    from jeju_lab.sim.proposer import ProposerStats
    from jeju_lab.sim.rollup import RollupState

WEI_PER_ETH = 10**18
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"  # what Go services serve and Prometheus 2.x asks for
# The refs op-node records (op-node/rollup/status, rollup/engine, rollup/derive): L1 refs under layer "l1";
# each L2 ref under layer "l2" and its L1 origin under layer "l1_origin".
OP_NODE_L1_REFS = {"l1_head": "head_l1", "l1_safe": "safe_l1", "l1_finalized": "finalized_l1",
                   "l1_derived": "current_l1"}
OP_NODE_L2_REFS = {"l2_unsafe": "unsafe_l2", "l2_safe": "safe_l2", "l2_finalized": "finalized_l2",
                   "l2_pending_safe": "pending_safe_l2", "l2_local_safe": "local_safe_l2",
                   "l2_cross_unsafe": "cross_unsafe_l2"}


class MetricsEndpoint:
    """`GET /metrics` from one registry, on loopback; `refresh` runs before each scrape (e.g. a sync status)."""

    def __init__(self, registry: CollectorRegistry, *, refresh: Callable[[], Awaitable[None]] | None = None,
                 port: int = 0) -> None:
        self.registry = registry
        self.refresh = refresh
        self.app = web.Application()
        self.app.router.add_get("/metrics", self.serve)
        self.server = LoopbackServer(self.app, port)

    @property
    def url(self) -> str:
        return self.server.url + "/metrics"

    @property
    def address(self) -> str:
        """host:port, as a Prometheus target."""
        return self.server.url.removeprefix("http://")

    async def serve(self, _request: web.Request) -> web.Response:
        if self.refresh is not None:
            with contextlib.suppress(Exception):  # a failed refresh serves the last values, as exporters do
                await self.refresh()
        return web.Response(body=generate_latest(self.registry), headers={"Content-Type": TEXT_FORMAT})

    def serve_also(self, path: str, registry: CollectorRegistry) -> None:
        """Another registry on another path of the same port (before start)."""

        async def serve(_request: web.Request) -> web.Response:
            return web.Response(body=generate_latest(registry), headers={"Content-Type": TEXT_FORMAT})

        self.app.router.add_get(path, serve)

    async def start(self, listening: bool = True) -> MetricsEndpoint:
        await self.server.start(listening=listening)
        return self

    async def set_listening(self, listening: bool) -> None:
        await self.server.set_listening(listening)

    async def stop(self) -> None:
        await self.server.stop()


def _gauge(name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=list(labels or {}))
    family.add_metric(list((labels or {}).values()), value)
    return family


class RefMetrics:
    """op-service/metrics RefMetrics: refs_number, refs_time, refs_hash{layer,type} and refs_seqnr{type}."""

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self.refs: dict[tuple[str, str], tuple[int, int, str]] = {}  # (layer, type) -> number, time, hash
        self.seqnr: dict[str, int] = {}

    def record_l1(self, name: str, ref: dict[str, Any]) -> None:
        self.refs[("l1", name)] = (int(ref["number"]), int(ref.get("timestamp", 0)), str(ref["hash"]))

    def record_l2(self, name: str, ref: dict[str, Any]) -> None:
        self.refs[("l2", name)] = (int(ref["number"]), int(ref.get("timestamp", 0)), str(ref["hash"]))
        origin = ref.get("l1origin") or {}
        self.refs[("l1_origin", name)] = (int(origin.get("number", 0)), 0, str(origin.get("hash", "0x")))
        self.seqnr[name] = int(ref.get("sequenceNumber", 0))

    def collect(self) -> Iterable[Metric]:
        number = GaugeMetricFamily(f"{self.ns}_refs_number", "Gauge representing the different L1/L2 reference "
                                   "block numbers", labels=["layer", "type"])
        stamp = GaugeMetricFamily(f"{self.ns}_refs_time", "Gauge representing the different L1/L2 reference "
                                  "block timestamps", labels=["layer", "type"])
        digest = GaugeMetricFamily(f"{self.ns}_refs_hash", "Gauge representing the different L1/L2 reference "
                                   "block hashes truncated to float values", labels=["layer", "type"])
        for (layer, name), (num, timestamp, block_hash) in sorted(self.refs.items()):
            number.add_metric([layer, name], num)
            if timestamp:
                stamp.add_metric([layer, name], timestamp)
            digest.add_metric([layer, name], _hash_float(block_hash))
        seqnr = GaugeMetricFamily(f"{self.ns}_refs_seqnr", "Gauge representing the different L2 reference "
                                  "sequence numbers", labels=["type"])
        for name, value in sorted(self.seqnr.items()):
            seqnr.add_metric([name], value)
        return [number, stamp, digest, seqnr]


def _hash_float(block_hash: str) -> float:
    """op-service's refs_hash: the first 8 bytes of the hash, little endian, as a float."""
    raw = bytes.fromhex(block_hash.removeprefix("0x")[:16].ljust(16, "0"))
    return float(int.from_bytes(raw, "little"))


class OpNodeCollector(Collector):
    """op_node_default_*: info, up, refs (from optimism_syncStatus) and derivation_errors."""

    ns = "op_node_default"

    def __init__(self, state: RollupState, version: str) -> None:
        self.state = state
        self.version = version
        self.refs = RefMetrics(self.ns)

    def record_sync_status(self, status: dict[str, Any]) -> None:
        for name, key in OP_NODE_L1_REFS.items():
            if status.get(key) and int(status[key].get("number", 0)) > 0:
                self.refs.record_l1(name, status[key])
        for name, key in OP_NODE_L2_REFS.items():
            if status.get(key):
                self.refs.record_l2(name, status[key])

    def collect(self) -> Iterable[Metric]:
        yield _gauge(f"{self.ns}_info", "Pseudo-metric tracking version and config info", 1,
                     {"version": self.version})
        yield _gauge(f"{self.ns}_up", "1 if the op node has finished starting up", 1)
        yield from self.refs.collect()
        errors = CounterMetricFamily(f"{self.ns}_derivation_errors", "Count of derivation errors events",
                                     value=self.state.derivation_errors)
        yield errors
        if self.state.last_derivation_error_unix:
            yield _gauge(f"{self.ns}_last_derivation_errors_unix", "Timestamp of last derivation errors event",
                         self.state.last_derivation_error_unix)


class BatcherCollector(Collector):
    """op_batcher_default_*: info, up, balance (ETH) and the batcher_tx events by stage."""

    ns = "op_batcher_default"

    def __init__(self, stats: BatcherStats, version: str) -> None:
        self.stats = stats
        self.version = version

    def collect(self) -> Iterable[Metric]:
        s = self.stats
        yield _gauge(f"{self.ns}_info", "Pseudo-metric tracking version and config info", 1,
                     {"version": self.version})
        yield _gauge(f"{self.ns}_up", "1 if the op-batcher has finished starting up", 1)
        if s.balance_wei is not None:
            yield _gauge(f"{self.ns}_balance", "balance (in ether) of the batcher account",
                         s.balance_wei / WEI_PER_ETH)
        total = CounterMetricFamily(f"{self.ns}_batcher_tx", "Count of BatcherTx events", labels=["stage"])
        last = GaugeMetricFamily(f"{self.ns}_last_batcher_tx_unix", "Timestamp of last BatcherTx event",
                                 labels=["stage"])
        # Like a Go EventVec: a stage's series exists once the stage was recorded.
        for stage, count, when in (("submitted", s.tx_submitted, s.last_submitted_unix),
                                   ("success", s.batches_sent, s.last_batch_unix),
                                   ("failed", s.tx_failed, s.last_failed_unix)):
            if count:
                total.add_metric([stage], count)
                last.add_metric([stage], when)
        yield total
        yield last


class ProposerCollector(Collector):
    """op_proposer_default_*: info, up, balance (ETH) and refs{layer="l2",type="proposed"}."""

    ns = "op_proposer_default"

    def __init__(self, stats: ProposerStats, version: str) -> None:
        self.stats = stats
        self.version = version
        self.refs = RefMetrics(self.ns)

    def collect(self) -> Iterable[Metric]:
        s = self.stats
        yield _gauge(f"{self.ns}_info", "Pseudo-metric tracking version and config info", 1,
                     {"version": self.version})
        yield _gauge(f"{self.ns}_up", "1 if the op-proposer has finished starting up", 1)
        if s.balance_wei is not None:
            yield _gauge(f"{self.ns}_balance", "balance (in ether) of the proposer account",
                         s.balance_wei / WEI_PER_ETH)
        if s.last_proposed_ref is not None:
            self.refs.record_l2("proposed", s.last_proposed_ref)
        yield from self.refs.collect()


def registry_of(collector: Collector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


class ProxydMetrics:
    """What ethereum-optimism/infra proxyd exports for the requests it serves (the lab's public RPC)."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.registry = CollectorRegistry(auto_describe=False)
        Gauge("proxyd_up", "Set to 1 when proxyd is running.", registry=self.registry).set(1)
        self.requests = Counter("proxyd_rpc_requests", "Count of total client RPC requests.",
                                registry=self.registry)
        self.codes = Counter("proxyd_http_response_codes", "Count of total HTTP response codes.",
                             ["status_code"], registry=self.registry)
        self.duration = Summary("proxyd_http_request_duration_seconds",
                                "Summary of HTTP request durations, in seconds.", registry=self.registry)
        self.backend_duration = Summary("proxyd_rpc_backend_request_duration_seconds",
                                        "Summary of backend response times broken down by backend and method "
                                        "name.", ["backend_name", "method_name", "batched"], registry=self.registry)

    def observe(self, methods: list[str], status: int, started: float, backend_s: float | None) -> None:
        """One HTTP request: its JSON-RPC methods, the status answered, when it began (monotonic)."""
        self.requests.inc(max(1, len(methods)))
        self.codes.labels(str(status)).inc()
        self.duration.observe(time.monotonic() - started)
        if backend_s is not None:
            batched = "true" if len(methods) > 1 else "false"
            method = methods[0] if len(methods) == 1 else "<batch>"
            self.backend_duration.labels(self.backend, method, batched).observe(backend_s)
