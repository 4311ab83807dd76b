"""A lagging provider: an RPC endpoint whose chain head stays at one block while the chain moves on.

What a node that stopped syncing serves: `eth_blockNumber` and the block tags (latest, pending, safe, finalized)
stay at the frozen head, later blocks are unknown (null) and logs end at the frozen head. State reads, sends and
receipts go through unchanged, so the batcher and the proposer keep working through it; only what follows the
head (op-node's L1 origin and derivation) stops. The lab's fault deposits-stuck freezes the primary L1 endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

Send = Callable[[bytes], Awaitable[tuple[web.Response, float | None]]]
BLOCK_TAGS = ("latest", "pending", "safe", "finalized")
_UNSET = object()


def _number(value: object) -> int | None:
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    return None


def _rewrite(call: dict[str, Any], head: int) -> object:
    """Rewrite one call in place to stop at `head`; returns the answer to give instead of the upstream's."""
    method, params = call.get("method"), call.get("params") or []
    if method == "eth_blockNumber":
        return hex(head)
    if method == "eth_getBlockByNumber" and params:
        number = _number(params[0])
        if params[0] in BLOCK_TAGS:
            params[0] = hex(head)
        elif number is not None and number > head:
            return None
    if method == "eth_getLogs" and params and isinstance(params[0], dict) and "blockHash" not in params[0]:
        query = params[0]
        start, end = _number(query.get("fromBlock")), _number(query.get("toBlock"))
        if start is not None and start > head:
            return []
        if end is None or end > head:
            query["toBlock"] = hex(head)
    return _UNSET


async def forward_stale(send: Send, body: bytes, head: int) -> tuple[web.Response, float | None]:
    """Answer `body` as a node stuck at block `head` does, asking the upstream (`send`) what it must."""
    try:
        message = json.loads(body)
    except ValueError:
        return await send(body)
    calls = message if isinstance(message, list) else [message]
    if not all(isinstance(call, dict) for call in calls):
        return await send(body)
    answers = {id(call): _rewrite(call, head) for call in calls}
    response, backend_s = await send(json.dumps(message).encode())
    if response.status != 200 or all(answer is _UNSET for answer in answers.values()):
        return response, backend_s
    assert isinstance(response.body, bytes)
    replies = json.loads(response.body)
    by_id = {reply.get("id"): reply for reply in (replies if isinstance(replies, list) else [replies])}
    for call in calls:
        answer = answers[id(call)]
        if answer is not _UNSET and call.get("id") in by_id:
            by_id[call["id"]] = {"jsonrpc": "2.0", "id": call["id"], "result": answer}
    merged = [by_id.get(call.get("id")) for call in calls]
    payload = merged if isinstance(message, list) else merged[0]
    return web.Response(body=json.dumps(payload).encode(), status=200, content_type="application/json"), backend_s
