# -*- coding: utf-8 -*-
"""JSON-RPC over HTTP with failover in order and batched requests.

Every module reads a chain through `RpcClient`: it sends several reads in ONE batched request where the node
accepts batches, falls over to the next URL when an endpoint cannot be reached, and records what each endpoint
did (error, latency) so that the module result says which endpoint answered.
"""

from __future__ import annotations

import json
import time
import urllib.error
from dataclasses import asdict, dataclass, field

from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url

DEFAULT_TIMEOUT = 5.0


class RpcError(Exception):
    """An error a user can act on; the message names the endpoint, the call and what to do."""


class EndpointsDown(RpcError):
    pass


@dataclass(frozen=True)
class Call:
    method: str
    params: list = field(default_factory=list)


@dataclass
class CallError:
    """A JSON-RPC error object for one call of a batch (a revert, an unknown method...)."""

    code: int
    message: str
    data: object = None

    def revert_data(self) -> str:
        data = self.data.get("data") if isinstance(self.data, dict) else self.data
        return data if isinstance(data, str) and data.startswith("0x") else ""


@dataclass
class Attempt:
    url: str
    error: str | None
    latency_ms: float


def redact_url(url: str) -> str:
    """Drop userinfo and path tokens (API keys live there) so endpoints can be reported."""
    scheme, _sep, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    path = rest.split("/", 1)[1] if "/" in rest else ""
    return f"{scheme}://{host}/{'…' if len(path) > 16 else path}".rstrip("/")


class RpcClient:
    """Failover in order: the first URL that answers serves the following calls until it fails."""

    def __init__(self, urls: list[str] | str, timeout: float = DEFAULT_TIMEOUT, validate_certs: bool = True,
                 ca_path: str | None = None):
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        if not self.urls:
            raise RpcError("no RPC URL given: set rpc_urls to at least one endpoint")
        self.timeout = timeout
        # open_url honours http(s)_proxy / no_proxy from the environment, CA bundles and certificate checks.
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.attempts: list[Attempt] = []
        self.round_trips = 0
        self.url: str | None = None  # the endpoint that answered last
        self._batches_rejected: set[str] = set()

    # -- public API ---------------------------------------------------------------------------------------
    def call(self, method: str, *params: object) -> object:
        """One call; a JSON-RPC error raises RpcError naming the method and the endpoint."""
        return self.require([Call(method, list(params))])[0]

    def batch(self, calls: list[Call]) -> list[object]:
        """Many calls in one round trip; each item is the result or a CallError."""
        if not calls:
            return []
        order = self.urls if self.url is None else [self.url] + [u for u in self.urls if u != self.url]
        failures = []
        for url in order:
            started = time.monotonic()
            try:
                results = self._send(url, calls)
            except RpcError as exc:
                self.attempts.append(Attempt(redact_url(url), str(exc), _ms_since(started)))
                failures.append(f"{redact_url(url)}: {exc}")
                continue
            self.attempts.append(Attempt(redact_url(url), None, _ms_since(started)))
            self.url = url
            return results
        raise EndpointsDown(
            f"no RPC endpoint answered {calls[0].method}: " + "; ".join(failures)
            + ". Check the endpoints (rpc_urls) and the network path to them."
        )

    def require(self, calls: list[Call]) -> list[object]:
        """Like batch() but any JSON-RPC error raises."""
        results = self.batch(calls)
        for item, call in zip(results, calls, strict=True):
            if isinstance(item, CallError):
                raise RpcError(f"{call.method} on {self.endpoint} failed: {item.message} (code {item.code})")
        return results

    @property
    def endpoint(self) -> str | None:
        return redact_url(self.url) if self.url else None

    def report(self) -> dict:
        return {
            "endpoint": self.endpoint,
            "endpoints_tried": self.endpoints_tried(),
            "rpc_round_trips": self.round_trips,
        }

    def endpoints_tried(self) -> list[dict]:
        """One row per endpoint: its first failure, or its first answer when it never failed."""
        rows: dict[str, Attempt] = {}
        for attempt in self.attempts:
            known = rows.get(attempt.url)
            if known is None or (known.error is None and attempt.error is not None):
                rows[attempt.url] = attempt
        return [asdict(a) for a in rows.values()]

    # -- transport ----------------------------------------------------------------------------------------
    def _send(self, url: str, calls: list[Call]) -> list[object]:
        if len(calls) == 1 or url in self._batches_rejected:
            return [self._post_one(url, c) for c in calls]
        payload = [{"jsonrpc": "2.0", "id": i, "method": c.method, "params": c.params} for i, c in enumerate(calls)]
        reply = self._post(url, payload)
        if not isinstance(reply, list):  # the node does not serve batches: one request per call
            self._batches_rejected.add(url)
            return [self._post_one(url, c) for c in calls]
        by_id = {item.get("id"): item for item in reply if isinstance(item, dict)}
        return [_unwrap(by_id.get(i), calls[i], url) for i in range(len(calls))]

    def _post_one(self, url: str, call: Call) -> object:
        reply = self._post(url, {"jsonrpc": "2.0", "id": 0, "method": call.method, "params": call.params})
        return _unwrap(reply if isinstance(reply, dict) else None, call, url)

    def _post(self, url: str, payload: object) -> object:
        body = json.dumps(payload).encode()
        self.round_trips += 1
        try:
            with open_url(url, data=body, headers={"Content-Type": "application/json"}, method="POST",
                          timeout=self.timeout, validate_certs=self.validate_certs, ca_path=self.ca_path,
                          http_agent="jeju.ops", use_netrc=False) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return json.loads(raw)  # some nodes answer JSON-RPC errors with HTTP 4xx/5xx
            except ValueError:
                raise RpcError(f"HTTP {exc.code} {exc.reason}") from None
        except (OSError, ValueError, UrlConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RpcError(f"unreachable ({reason})") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise RpcError("answered with something that is not JSON") from None


def _unwrap(item: dict | None, call: Call, url: str) -> object:
    if item is None:
        raise RpcError(f"no answer for {call.method}")
    if "error" in item and item["error"] is not None:
        err = item["error"]
        if isinstance(err, dict):
            return CallError(int(err.get("code", 0)), str(err.get("message", "")), err.get("data"))
        return CallError(0, str(err))
    return item.get("result")


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def hex_int(value: object) -> int:
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise RpcError(f"expected a hex quantity, got {value!r}")
    return int(value, 16)


def block_tag(number: int | str) -> str:
    return number if isinstance(number, str) else hex(number)


def check_chain_id(client: RpcClient, actual: object, expected: int | None) -> int:
    chain_id = hex_int(actual)
    if expected is not None and chain_id != expected:
        raise RpcError(
            f"wrong chain: {client.endpoint} serves chain id {chain_id} but expect_chain_id is {expected}. "
            "Fix the RPC URL or the inventory's chain id before acting on this chain."
        )
    return chain_id
