"""A small async JSON-RPC client over aiohttp, with batching, and the errors the simulators tell apart."""

from __future__ import annotations

import itertools
from typing import Any

import aiohttp

from jeju_play.errors import LabError

_ids = itertools.count(1)


class RpcUnavailable(LabError):
    """The endpoint did not answer: connection refused, timeout, or an HTTP error status."""


class RpcError(LabError):
    """The endpoint answered with a JSON-RPC error object."""

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(f"{method}: {message} (code {code})")
        self.method = method
        self.code = code
        self.rpc_message = message


def _unwrap(method: str, reply: dict[str, Any]) -> Any:
    error = reply.get("error")
    if error is not None:
        raise RpcError(method, int(error.get("code", 0)), str(error.get("message", "")))
    return reply.get("result")


class JsonRpcClient:
    """`await JsonRpcClient(session, url).call("eth_blockNumber")`."""

    def __init__(self, session: aiohttp.ClientSession, url: str, timeout_s: float = 5.0) -> None:
        self.session = session
        self.url = url
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def _post(self, body: object) -> Any:
        if not self.url:
            raise RpcUnavailable("no RPC URL configured")
        try:
            async with self.session.post(self.url, json=body, timeout=self.timeout) as response:
                if response.status != 200:
                    text = (await response.text())[:200]
                    raise RpcUnavailable(f"{self.url} answered HTTP {response.status}: {text}")
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RpcUnavailable(f"Post {self.url!r}: {describe_connection_error(exc)}") from exc

    async def call(self, method: str, *params: object) -> Any:
        reply = await self._post(
            {"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": list(params)}
        )
        if not isinstance(reply, dict):
            raise RpcUnavailable(f"{self.url} answered {method} with a non-object: {str(reply)[:100]}")
        return _unwrap(method, reply)

    async def batch(self, calls: list[tuple[str, list[object]]]) -> list[Any]:
        """Several calls in one request; results in the order asked. The first error raises."""
        if not calls:
            return []
        ids = [next(_ids) for _ in calls]
        body = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": p}
            for i, (m, p) in zip(ids, calls, strict=True)
        ]
        replies = await self._post(body)
        if not isinstance(replies, list):
            raise RpcUnavailable(f"{self.url} answered a batch with a non-list: {str(replies)[:100]}")
        by_id = {reply.get("id"): reply for reply in replies}
        return [_unwrap(method, by_id.get(i, {})) for i, (method, _) in zip(ids, calls, strict=True)]


def describe_connection_error(exc: BaseException) -> str:
    """Words like Go's net errors, for log lines: `dial tcp 127.0.0.1:1: connect: connection refused`."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"dial tcp {exc.host}:{exc.port}: connect: connection refused"
    if isinstance(exc, TimeoutError):
        return "context deadline exceeded"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "EOF"
    return str(exc) or type(exc).__name__


def hex_int(value: object) -> int:
    if not isinstance(value, str):
        raise LabError(f"expected a hex quantity, got {value!r}")
    return int(value, 16)
