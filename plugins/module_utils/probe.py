# -*- coding: utf-8 -*-
"""Latency probe of one JSON-RPC endpoint: percentiles, error rate and a degraded verdict."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.jeju.ops.plugins.module_utils.rpc import (
    Call,
    CallError,
    RpcClient,
    RpcError,
    redact_url,
)

DEFAULT_METHODS = [
    {"method": "eth_blockNumber", "params": []},
    {"method": "eth_call", "params": [{"to": "0x0000000000000000000000000000000000000000", "data": "0x"}, "latest"]},
]


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (no interpolation): the value an operator can point at."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def normalize_methods(methods: list) -> list[Call]:
    calls = []
    for item in methods or DEFAULT_METHODS:
        if isinstance(item, str):
            calls.append(Call(item, []))
        elif isinstance(item, dict) and isinstance(item.get("method"), str):
            calls.append(Call(item["method"], list(item.get("params") or [])))
        else:
            raise ValueError(f"methods entry {item!r} is neither a method name nor {{method, params}}")
    return calls


def one_sample(url: str, call: Call, timeout: float, tls: dict | None = None) -> tuple[str, float, str | None]:
    client = RpcClient([url], timeout=timeout, **(tls or {}))
    started = time.monotonic()
    try:
        result = client.batch([call])[0]
        error = f"{result.message} (code {result.code})" if isinstance(result, CallError) else None
    except RpcError as exc:
        error = str(exc)
    return call.method, (time.monotonic() - started) * 1000, error


def probe(url: str, methods: list, samples: int, concurrency: int, threshold_ms: float,
          max_error_rate: float, timeout: float, tls: dict | None = None, rounds: int = 1,
          pause: float = 2.0) -> dict:
    """Measure once; while a round says degraded, measure again, up to `rounds` rounds. Degraded only when every
    round is: one slow burst (a pause of the probing machine, a GC) is not a slow RPC, as an alert's `for:`
    says. The facts are the last round's, with each round's p95 and verdict in `rounds`."""
    history = []
    while True:
        facts = measure(url, methods, samples, concurrency, threshold_ms, max_error_rate, timeout, tls)
        history.append({"p95_ms": facts["p95_ms"], "error_rate": facts["error_rate"], "degraded": facts["degraded"]})
        if not facts["degraded"] or len(history) >= max(1, rounds):
            break
        time.sleep(pause)
    facts["rounds"] = history
    return facts


def measure(url: str, methods: list, samples: int, concurrency: int, threshold_ms: float,
            max_error_rate: float, timeout: float, tls: dict | None = None) -> dict:
    calls = normalize_methods(methods)
    plan = [calls[i % len(calls)] for i in range(samples)]
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        outcomes = list(pool.map(lambda c: one_sample(url, c, timeout, tls), plan))
    ok_ms = [ms for _method, ms, err in outcomes if err is None]
    errors = [(m, err) for m, _ms, err in outcomes if err is not None]
    facts = {
        "url": redact_url(url), "samples": samples, "concurrency": concurrency,
        "p50_ms": _round(percentile(ok_ms, 50)), "p95_ms": _round(percentile(ok_ms, 95)),
        "p99_ms": _round(percentile(ok_ms, 99)), "max_ms": _round(max(ok_ms) if ok_ms else None),
        "errors": len(errors), "error_rate": round(len(errors) / samples, 4) if samples else 0.0,
        "error_examples": sorted({f"{m}: {e}" for m, e in errors})[:5],
        "threshold_ms": threshold_ms,
    }
    reasons = []
    if facts["p95_ms"] is not None and facts["p95_ms"] > threshold_ms:
        reasons.append(f"p95 {facts['p95_ms']} ms is above {threshold_ms} ms")
    if facts["error_rate"] > max_error_rate:
        reasons.append(f"error rate {facts['error_rate']:.1%} is above {max_error_rate:.1%}")
    facts.update(degraded=bool(reasons), reasons=reasons)
    return facts


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
