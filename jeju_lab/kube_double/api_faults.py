"""An API server having a bad moment: the next requests that match answer 500 or 429, or are not answered for a
while, as a real control plane does during an etcd leader election, an overloaded apiserver (priority and
fairness answers 429 with Retry-After) or a network blip.

Armed from outside (the lab's control API, `Lab.kube_api_fault`) for the next N matching requests, so a test
says exactly which calls misbehave, whatever the machine's speed. Every request answered so is kept in `hits`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from jeju_lab.kube_double.api_errors import ApiError

MODES = ("500", "429", "stall", "lost")  # "lost": served, then its answer replaced by a 500 (a dropped reply)
RETRY_AFTER_SECONDS = 1


@dataclass
class ApiFault:
    """The next `count` requests whose method is in `methods` (empty: any) and whose path contains
    `path_contains` misbehave the `mode` way; a stall waits `stall_seconds` before the request is served."""

    mode: str
    count: int
    methods: frozenset[str] = frozenset()
    path_contains: str = ""
    stall_seconds: float = 5.0

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ApiFault:
        """A fault from the control API's JSON; ValueError names what is wrong."""
        mode, count = str(body.get("mode", "")), body.get("count", 1)
        if mode not in MODES:
            raise ValueError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"count {count!r}: expected a whole number of requests, at least 1")
        stall = body.get("stall_seconds", 5.0)
        if not isinstance(stall, (int, float)) or isinstance(stall, bool) or not 0 <= stall <= 120:
            raise ValueError(f"stall_seconds {stall!r}: expected 0 to 120")
        methods = frozenset(str(m).upper() for m in body.get("methods") or [])
        return cls(mode, count, methods, str(body.get("path_contains") or ""), float(stall))

    def matches(self, method: str, path: str) -> bool:
        return (not self.methods or method in self.methods) and self.path_contains in path


@dataclass
class ApiFaults:
    """The armed faults, first armed first served, and every request they answered."""

    armed: list[ApiFault] = field(default_factory=list)
    hits: list[dict[str, Any]] = field(default_factory=list)

    def arm(self, fault: ApiFault) -> None:
        self.armed.append(fault)

    def clear(self) -> None:
        """Nothing armed, nothing answered: as a fresh API."""
        self.armed.clear()
        self.hits.clear()

    def take(self, method: str, path: str) -> ApiFault | None:
        for fault in self.armed:
            if fault.matches(method, path):
                fault.count -= 1
                if fault.count <= 0:
                    self.armed.remove(fault)
                self.hits.append({"method": method, "path": path, "mode": fault.mode})
                return fault
        return None

    def summary(self) -> dict[str, Any]:
        return {"armed": [{"mode": f.mode, "count": f.count, "methods": sorted(f.methods),
                           "path_contains": f.path_contains} for f in self.armed],
                "hits": list(self.hits)}

    async def serve(self, request: web.Request,
                    dispatch: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        """The request's answer with the first matching fault applied (none: as the API answers it)."""
        fault = self.take(request.method, request.path)
        if fault is None:
            return await dispatch(request)
        if fault.mode == "stall":
            await asyncio.sleep(fault.stall_seconds)
            return await dispatch(request)
        if fault.mode == "lost":
            await dispatch(request)
            return _error(500, "InternalError", "an error on the server (\"unexpected EOF\") has prevented the "
                          "request from succeeding")
        if fault.mode == "429":
            response = _error(429, "TooManyRequests", "the server has received too many requests and has asked "
                              "us to try again later")
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        return _error(500, "InternalError", "an error on the server (\"etcdserver: leader changed\") has "
                      "prevented the request from succeeding")


def _error(code: int, reason: str, message: str) -> web.Response:
    return web.json_response(ApiError(code, reason, message).status(), status=code)
