"""The supervisor's control API on loopback, used by `jeju-play lab status|faults|break|heal|down`."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from jeju_lab.anvil import AnvilNode, rpc_call
from jeju_lab.faults import FAULTS, break_fault, heal_fault
from jeju_lab.kube_double.api_faults import ApiFault
from jeju_lab.world import LabWorld
from jeju_play.errors import JejuPlayError


class ControlApi:
    def __init__(self, world: LabWorld, stop: asyncio.Event, chains: dict[str, AnvilNode]):
        self.world = world
        self.stop_event = stop
        self.chains = chains
        self.runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> ControlApi:
        app = web.Application()
        app.router.add_get("/status", self.status)
        app.router.add_get("/faults", self.faults)
        app.router.add_post("/break/{fault}", self.break_)
        app.router.add_post("/heal", self.heal)
        app.router.add_post("/heal/{fault}", self.heal)
        app.router.add_post("/shutdown", self.shutdown)
        app.router.add_get("/kube-api-faults", self.kube_api_faults)
        app.router.add_get("/requests", self.requests)
        app.router.add_post("/kube-api-faults", self.arm_kube_api_fault)
        app.router.add_delete("/kube-api-faults", self.clear_kube_api_faults)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self.runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def status(self, _request: web.Request) -> web.Response:
        return web.json_response({"components": await self.components(), "faults": self.world.faults.summary()})

    async def components(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for name, node in self.chains.items():
            result[f"anvil-{name}"] = await self._chain(node)
        for app in ("op-node", "op-batcher", "op-proposer", "reth", "eigenda-proxy"):
            pods = self.world.pods(app)
            ready = self.world.ready_pods(app)
            deployment = self.world.cluster.find("Deployment", app, "op-stack")
            replicas = deployment["spec"].get("replicas", 1) if deployment else None
            restarts = sum(int(c.get("restartCount", 0)) for p in pods
                           for c in (p.get("status") or {}).get("containerStatuses") or [])
            result[app] = {"healthy": bool(ready), "replicas": replicas, "pods": len(pods), "ready": len(ready),
                           "restarts": restarts}
        indexer = self.world.ready_pods("subsquid", "indexer")
        result["subsquid"] = {"healthy": bool(indexer), "ready": len(indexer)}
        result["l1-primary"] = {"healthy": self.world.l1_primary.mode.value == "healthy",
                                "mode": self.world.l1_primary.mode.value, "url": self.world.l1_primary.url}
        result["l1-backup"] = {"healthy": self.world.l1_backup.mode.value == "healthy",
                               "mode": self.world.l1_backup.mode.value, "url": self.world.l1_backup.url}
        return result

    async def _chain(self, node: AnvilNode) -> dict[str, Any]:
        if not node.alive():
            return {"healthy": False, "pid": node.pid, "error": "process is dead"}
        try:
            head = await asyncio.to_thread(rpc_call, node.url, "eth_blockNumber", None, 1.0)
        except (OSError, JejuPlayError) as exc:
            return {"healthy": False, "pid": node.pid, "error": str(exc)}
        return {"healthy": True, "pid": node.pid, "url": node.url, "head": int(str(head), 16)}

    async def requests(self, _request: web.Request) -> web.Response:
        """What the lab has served since it started: API double requests by method, JSON-RPC requests per endpoint
        by User-Agent (a batch is one request: one round trip; the lab's own simulators are aiohttp). The
        benchmarks count a run's reads from the difference."""
        world = self.world
        rpc = {proxy.name: dict(proxy.requests_received)
               for proxy in (world.l1_primary, world.l1_backup, world.reth)}
        return web.json_response({"kube": dict(world.cluster.requests_served), "rpc": rpc})

    async def faults(self, _request: web.Request) -> web.Response:
        return web.json_response([{"name": f.name, "incident": f.incident, "summary": f.summary,
                                   "remedy": f.remedy, "active": f.name in self.world.faults.active}
                                  for f in FAULTS.values()])

    async def break_(self, request: web.Request) -> web.Response:
        name = request.match_info["fault"]
        try:
            await break_fault(self.world, name)
        except JejuPlayError as exc:
            return web.json_response({"error": str(exc), "exit_code": int(exc.exit_code)}, status=400)
        return web.json_response({"broken": name, "faults": self.world.faults.summary()})

    async def heal(self, request: web.Request) -> web.Response:
        name = request.match_info.get("fault")
        names = [name] if name else list(self.world.faults.active)
        if not name:
            self.world.cluster.api_faults.clear()  # healing everything includes the API's bad moment
        try:
            for item in names:
                await heal_fault(self.world, item)
        except JejuPlayError as exc:
            return web.json_response({"error": str(exc), "exit_code": int(exc.exit_code)}, status=400)
        return web.json_response({"healed": names, "faults": self.world.faults.summary()})

    async def kube_api_faults(self, _request: web.Request) -> web.Response:
        return web.json_response(self.world.cluster.api_faults.summary())

    async def arm_kube_api_fault(self, request: web.Request) -> web.Response:
        """The Kubernetes API's next matching requests misbehave (jeju_lab/kube_double/api_faults.py)."""
        try:
            body = await request.json()
            fault = ApiFault.from_json(body if isinstance(body, dict) else {})
        except ValueError as exc:  # json.JSONDecodeError is one
            return web.json_response({"error": f"kube API fault: {exc}", "exit_code": 2}, status=400)
        self.world.cluster.api_faults.arm(fault)
        return web.json_response(self.world.cluster.api_faults.summary())

    async def clear_kube_api_faults(self, _request: web.Request) -> web.Response:
        self.world.cluster.api_faults.clear()
        return web.json_response(self.world.cluster.api_faults.summary())

    async def shutdown(self, _request: web.Request) -> web.Response:
        self.stop_event.set()
        return web.json_response({"stopping": True})
