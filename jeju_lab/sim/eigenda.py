"""eigenda-proxy: `GET /health`, and the OP generic commitment routes `POST /put` / `GET /get/0x<commitment>`.
Under its fault (`conditions.eigenda_healthy` false) every route answers 503, the status newer op-alt-da
clients read as "DA down"."""

from __future__ import annotations

from aiohttp import web

from jeju_lab.sim.conditions import Conditions
from jeju_lab.sim.frames import eigenda_cert
from jeju_lab.sim.logfmt import ComponentLog
from jeju_lab.sim.server import LoopbackServer

DEFAULT_PORT = 3100  # EIGENDA_PROXY_PORT default; the lab picks a free port instead


class EigenDAProxy:
    def __init__(self, conditions: Conditions, log: ComponentLog, port: int = 0) -> None:
        self.conditions = conditions
        self.log = log
        self.blobs: dict[bytes, bytes] = {}
        app = web.Application()
        app.router.add_get("/health", self.health)
        app.router.add_post("/put", self.put)
        app.router.add_post("/put/", self.put)
        app.router.add_get("/get/{commitment}", self.get)
        self.server = LoopbackServer(app, port)

    @property
    def url(self) -> str:
        return self.server.url

    def _unavailable(self) -> web.Response:
        self.log.error(
            "Failed to disperse blob", err="rpc error: code = Unavailable desc = disperser unavailable"
        )
        return web.json_response(
            {"status": "unavailable", "error": "EigenDA disperser unavailable"}, status=503
        )

    async def health(self, request: web.Request) -> web.Response:
        if not self.conditions.eigenda_healthy:
            return web.json_response({"status": "unavailable"}, status=503)
        return web.json_response({"status": "ok"})

    async def put(self, request: web.Request) -> web.Response:
        if not self.conditions.eigenda_healthy:
            return self._unavailable()
        data = await request.read()
        commitment = eigenda_cert(data)
        self.blobs[commitment] = data
        self.log.info("Processed request", method="POST", url="/put", status=200, bytes=len(data))
        return web.Response(body=commitment, content_type="application/octet-stream")

    async def get(self, request: web.Request) -> web.Response:
        if not self.conditions.eigenda_healthy:
            return self._unavailable()
        try:
            key = bytes.fromhex(request.match_info["commitment"].removeprefix("0x"))
        except ValueError:
            return web.Response(status=400, text="invalid commitment")
        data = self.blobs.get(key)
        if data is None:
            return web.Response(status=404, text="blob not found")
        return web.Response(body=data, content_type="application/octet-stream")

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()
