"""An HTTP JSON-RPC proxy in front of an anvil: the lab's L1 primary and backup endpoints and the public
L2 RPC (reth). A fault makes it refuse connections or answer 502; latency can be added, or follow a load
model for the reth Deployment (latency = base + load / ready replicas)."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from jeju_play.lab.sim.server import LoopbackServer


class ProxyMode(enum.Enum):
    HEALTHY = "healthy"
    REFUSE = "refuse"  # the port is closed: connection refused
    BAD_GATEWAY = "bad_gateway"  # answers HTTP 502, as a provider's load balancer does


@dataclass
class RethLoad:
    """Latency of the public RPC: base + load / replicas (ms). 3 replicas under the lab's overload stay
    under 500 ms; 1 replica does not."""

    base_ms: float = 40.0
    load: float = 0.0  # the fault raises it, e.g. 1200 ms-replica
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
        self.latency_model: Callable[[], float] | None = None  # e.g. RethLoad(...).latency_ms
        self.requests_served = 0
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
        if self.mode is ProxyMode.BAD_GATEWAY:
            return web.Response(status=502, text="502 Bad Gateway")
        delay = self.latency_ms()
        if delay == float("inf"):
            return web.Response(status=503, text="no healthy upstream")
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        body = await request.read()
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
            return web.Response(status=502, text="502 Bad Gateway")
        self.requests_served += 1
        return web.Response(body=payload, status=status, content_type="application/json")

    async def start(self) -> None:
        await self.server.start(listening=self.mode is not ProxyMode.REFUSE)

    async def stop(self) -> None:
        await self.server.stop()
