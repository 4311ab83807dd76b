# -*- coding: utf-8 -*-
"""One look at the whole chain for chain_probe: the L2 head, op-node's sync status and every L1 endpoint's head,
read at once (one thread per endpoint), each endpoint on its own so that the result names the ones that fail.

An endpoint that does not answer is a fact of the result (its error), never a failure: diagnosis goes on.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.jeju.ops.plugins.module_utils.chain import chain_head
from ansible_collections.jeju.ops.plugins.module_utils.op_node import sync_summary
from ansible_collections.jeju.ops.plugins.module_utils.rpc import RpcClient, RpcError, redact_url

SYNC_KEYS = ("unsafe_l2_number", "safe_l2_number", "finalized_l2_number", "current_l1_number", "head_l1_number")


def _error(client: RpcClient, exc: Exception) -> str:
    tried = [t["error"] for t in client.endpoints_tried() if t.get("error")]
    return str(tried[-1] if tried and "no RPC endpoint answered" in str(exc) else exc)


def _head(urls: list[str], chain_id: int | None, stall: float, timeout: float, tls: dict) -> tuple[dict, int]:
    client = RpcClient(urls, timeout=timeout, **tls)
    try:
        facts = chain_head(client, chain_id, stall)
    except RpcError as exc:
        return {"number": None, "age_seconds": None, "stalled": True, "endpoint": client.endpoint or "",
                "error": _error(client, exc)}, client.round_trips
    return {"number": facts["number"], "age_seconds": facts["age_seconds"], "stalled": facts["stalled"],
            "endpoint": client.endpoint or "", "error": None}, client.round_trips


def _op_node(url: str, timeout: float, tls: dict) -> tuple[dict, int]:
    client = RpcClient([url], timeout=timeout, **tls)
    try:
        summary = sync_summary(client.call("optimism_syncStatus") or {})
    except RpcError as exc:
        return {"reachable": False, "error": _error(client, exc), **{k: None for k in SYNC_KEYS}}, client.round_trips
    return {"reachable": True, "error": None, **{k: summary.get(k) for k in SYNC_KEYS}}, client.round_trips


def probe_chain(l2_urls: list[str], l2_chain_id: int | None, op_node_url: str, l1_urls: list[str],
                l1_chain_id: int | None, stall_seconds: float, timeout: float, tls: dict | None = None) -> dict:
    tls = tls or {}
    with ThreadPoolExecutor(max_workers=2 + len(l1_urls)) as pool:
        l2_job = pool.submit(_head, l2_urls, l2_chain_id, stall_seconds, timeout, tls)
        op_job = pool.submit(_op_node, op_node_url, timeout, tls)
        l1_jobs = [pool.submit(_head, [url], l1_chain_id, float("inf"), timeout, tls) for url in l1_urls]
        (l2, l2_trips), (op_node, op_trips) = l2_job.result(), op_job.result()
        l1_results = [job.result() for job in l1_jobs]
    endpoints = []
    for index, (url, (head, _trips)) in enumerate(zip(l1_urls, l1_results, strict=False)):
        endpoints.append({"index": index, "role": "primary" if index == 0 else "backup", "url": url,
                          "endpoint": head["endpoint"] or redact_url(url), "number": head["number"],
                          "age_seconds": head["age_seconds"], "ok": head["error"] is None, "error": head["error"]})
    return {
        "l2": dict(l2, stall_seconds=float(stall_seconds)),
        "op_node": op_node,
        "l1": endpoints,
        "l1_primary_ok": bool(endpoints) and endpoints[0]["ok"],
        "l1_healthy_backups": [e["url"] for e in endpoints if e["ok"] and e["index"] > 0],
        "rpc_round_trips": l2_trips + op_trips + sum(trips for _head_, trips in l1_results),
    }
