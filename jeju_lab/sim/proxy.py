"""An HTTP JSON-RPC proxy in front of an anvil: the lab's L1 primary and backup endpoints and the public
L2 RPC (reth). A fault makes it refuse connections or answer 502; latency can be added, or follow a load
model for the reth Deployment (latency = base + load / ready replicas). Every request is counted and timed
under proxyd's metric names (`metrics`), which the public RPC's proxy serves on its own /metrics endpoint."""

from __future__ import annotations

import asyncio
import enum
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from jeju_lab.sim.metrics import MetricsEndpoint, ProxydMetrics
from jeju_lab.sim.server import LoopbackServer
from jeju_lab.sim.stale import forward_stale

LIMIT_BURST_MULTIPLIER = 5  # ingress-nginx's default limit-burst-multiplier


class ProxyMode(enum.Enum):
    HEALTHY = "healthy"
    REFUSE = "refuse"  # the port is closed: connection refused
    BAD_GATEWAY = "bad_gateway"  # answers HTTP 502, as a provider's load balancer does


@dataclass
class RethLoad:
    """Latency of the public RPC: base + load / replicas (ms). Under the lab's overload (1350) 1 replica answers
    in 1390 ms, 3 in 490 ms: either side of the lab's 1000 ms threshold (inventories/local) by 390 ms and more,
    room for a loaded machine's scheduling delays (seen: over 400 ms with two labs on 2 cores)."""

    base_ms: float = 40.0
    load: float = 0.0  # the fault raises it to 1350 ms-replica
    replicas: int = 1

    def latency_ms(self) -> float:
        if self.replicas <= 0:
            return float("inf")
        return self.base_ms + self.load / self.replicas


class RpcProxy:
    def __init__(
        self, session: aiohttp.ClientSession, upstream_url: str, name: str = "rpc", port: int = 0
    ) -> None:
        self.session = session
        self.upstream_url = upstream_url
        self.name = name
        self.mode = ProxyMode.HEALTHY
        self.extra_latency_ms: float = 0.0
        # ingress-nginx limit-rpm: requests per minute, with its default burst of 5x (None: no limit)
        self.rate_limit_per_minute: float | None = None
        self._tokens = 0.0
        self._tokens_at = 0.0
        self._bucket_rate: float | None = None  # the limit the bucket was filled for
        self.latency_model: Callable[[], float] | None = None  # e.g. RethLoad(...).latency_ms
        self.requests_served = 0
        # every POST, answered or refused, by the User-Agent's product (the benchmarks count a run's round trips)
        self.requests_received: Counter[str] = Counter()
        self.metrics = ProxydMetrics(name)
        self.metrics_endpoint: MetricsEndpoint | None = None  # started by SimStack.add_proxy(serve_metrics=True)
        self.stale_head: int | None = None  # a lagging provider: its chain head stays at this block (stale.py)
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/", self.forward)
        self.server = LoopbackServer(app, port)

    @property
    def url(self) -> str:
        return self.server.url

    def latency_ms(self) -> float:
        model = self.latency_model() if self.latency_model else 0.0
        return self.extra_latency_ms + model

    async def set_mode(self, mode: ProxyMode) -> None:
        self.mode = mode
        await self.server.set_listening(mode is not ProxyMode.REFUSE)

    async def forward(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        self.requests_received[request.headers.get("User-Agent", "-").split("/", 1)[0]] += 1
        body = await request.read()
        if self.stale_head is not None:
            response, backend_s = await forward_stale(self._forward, body, self.stale_head)
        else:
            response, backend_s = await self._forward(body)
        self.metrics.observe(_methods(body), response.status, started, backend_s)
        return response

    def _limited(self) -> bool:
        """ingress-nginx's limit_req: a bucket of 5 x the per-minute rate, refilled continuously. A new limit
        starts with a full bucket: changing the annotation reloads nginx, whose new zone starts empty of requests."""
        rate = self.rate_limit_per_minute
        if rate is None:
            self._tokens_at = 0.0
            return False
        now, burst = time.monotonic(), rate * LIMIT_BURST_MULTIPLIER
        if self._tokens_at == 0.0 or rate != self._bucket_rate:
            self._tokens, self._tokens_at, self._bucket_rate = burst, now, rate
        self._tokens = min(burst, self._tokens + (now - self._tokens_at) * rate / 60.0)
        self._tokens_at = now
        if self._tokens < 1.0:
            return True
        self._tokens -= 1.0
        return False

    async def _forward(self, body: bytes) -> tuple[web.Response, float | None]:
        """The answer, and how long the backend (latency model included) took, None when not asked."""
        if self.mode is ProxyMode.BAD_GATEWAY:
            return web.Response(status=502, text="502 Bad Gateway"), None
        if self._limited():
            return web.Response(status=503, text="503 Service Temporarily Unavailable"), None
        delay = self.latency_ms()
        if delay == float("inf"):
            return web.Response(status=503, text="no healthy upstream"), None
        started = time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        try:
            async with self.session.post(
                self.upstream_url,
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=30),
            ) as upstream:
                payload = await upstream.read()
                status = upstream.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            return web.Response(status=502, text="502 Bad Gateway"), time.monotonic() - started
        self.requests_served += 1
        return web.Response(body=payload, status=status, content_type="application/json"), time.monotonic() - started

    async def start(self) -> None:
        await self.server.start(listening=self.mode is not ProxyMode.REFUSE)

    async def stop(self) -> None:
        await self.server.stop()
        if self.metrics_endpoint is not None:
            await self.metrics_endpoint.stop()


def _methods(body: bytes) -> list[str]:
    """The JSON-RPC methods of a request (a batch has several); unreadable requests count as one unknown."""
    try:
        message = json.loads(body)
    except ValueError:
        return ["unknown"]
    items = message if isinstance(message, list) else [message]
    return [str(m.get("method", "unknown")) if isinstance(m, dict) else "unknown" for m in items] or ["unknown"]
