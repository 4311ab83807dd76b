"""Loopback HTTP servers that can stop listening (like a pod with no ready endpoint) and a JSON-RPC
dispatcher that answers the way geth's rpc package does (same codes and messages, batches supported)."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from jeju_lab.anvil import free_port

Handler = Callable[..., Awaitable[Any]]


class MethodError(Exception):
    """Raised by a handler: becomes a JSON-RPC error (geth uses -32000 for handler errors)."""

    def __init__(self, message: str, code: int = -32000) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LoopbackServer:
    """An aiohttp app on 127.0.0.1 whose listening socket can be closed and reopened on the same port.

    While not listening, new connections are refused and requests on kept-alive connections are dropped,
    which is what a client of a Service with no ready pod sees.
    """

    def __init__(self, app: web.Application, port: int = 0) -> None:
        self.app = app
        self.port = port
        self.listening = False
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        app.middlewares.append(self._drop_when_closed)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @web.middleware
    async def _drop_when_closed(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self.listening:
            if request.transport is not None:
                request.transport.close()
            raise web.HTTPServiceUnavailable()
        response: web.StreamResponse = await handler(request)
        return response

    async def start(self, listening: bool = True) -> LoopbackServer:
        """Set up the app and pick the port; listen now or later (`set_listening`)."""
        if not self.port:
            self.port = free_port()
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await self.set_listening(listening)
        return self

    async def set_listening(self, listening: bool) -> None:
        if self._runner is None or listening == self.listening:
            return
        if listening:
            self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
            await self._site.start()
        elif self._site is not None:
            await self._site.stop()
            self._site = None
            if self._runner.server is not None:
                for connection in list(self._runner.server.connections):
                    connection.force_close()  # kept-alive connections go too, as when a pod dies
                await asyncio.sleep(0.01)  # let clients in this process see the close before they reuse it
        self.listening = listening

    async def stop(self) -> None:
        self.listening = False
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None


def _check_arity(handler: Handler, given: int) -> str:
    """geth's words for a wrong number of positional arguments, or "" when they fit."""
    parameters = list(inspect.signature(handler).parameters.values())
    required = sum(1 for p in parameters if p.default is inspect.Parameter.empty)
    if given > len(parameters):
        return f"too many arguments, want at most {len(parameters)}"
    if given < required:
        return f"missing value for required argument {given}"
    return ""


def rpc_error(request_id: object, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


class JsonRpcDispatcher:
    """Maps method names to async handlers taking the positional params."""

    def __init__(self) -> None:
        self.methods: dict[str, Handler] = {}
        self.hidden: Callable[[str], bool] = lambda method: False  # e.g. admin_* without --rpc.enable-admin

    def add(self, name: str, handler: Handler) -> None:
        self.methods[name] = handler

    async def handle_one(self, message: object) -> dict[str, Any]:
        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            return rpc_error(None, -32600, "invalid request")
        request_id, method = message.get("id"), message["method"]
        params = message.get("params") or []
        handler = self.methods.get(method)
        if handler is None or self.hidden(method):
            return rpc_error(request_id, -32601, f"the method {method} does not exist/is not available")
        if not isinstance(params, list):
            return rpc_error(request_id, -32602, "non-array args")
        arity_problem = _check_arity(handler, len(params))
        if arity_problem:
            return rpc_error(request_id, -32602, arity_problem)
        try:
            result = await handler(*params)
        except MethodError as exc:
            return rpc_error(request_id, exc.code, exc.message)
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    async def http_handler(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return web.json_response(rpc_error(None, -32700, "parse error"))
        if isinstance(body, list):
            if not body:
                return web.json_response(rpc_error(None, -32600, "empty batch"))
            return web.json_response([await self.handle_one(item) for item in body])
        return web.json_response(await self.handle_one(body))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/", self.http_handler)
        return app
