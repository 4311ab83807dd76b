"""`?watch=true`: a chunked stream of `{"type": ..., "object": ...}` JSON lines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from aiohttp import web

from jeju_lab.kube_double.api_errors import bad_request
from jeju_lab.kube_double.routing import Target
from jeju_lab.kube_double.selectors import parse_field_selector, parse_label_selector
from jeju_lab.kube_double.store import Store
from jeju_lab.kube_double.tables import as_table, wants_table

DEFAULT_TIMEOUT_SECONDS = 1800.0


def is_watch(request: web.Request) -> bool:
    return request.query.get("watch", "").lower() in ("1", "true")


def _since(request: web.Request) -> int | None:
    text = request.query.get("resourceVersion", "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise bad_request(f"resourceVersion {text!r} is not a number") from None


async def watch(request: web.Request, store: Store, target: Target) -> web.StreamResponse:
    fields = parse_field_selector(request.query.get("fieldSelector"))
    labels = parse_label_selector(request.query.get("labelSelector"))
    timeout = float(request.query.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS)
    table = wants_table(request.headers.get("Accept", ""))
    watcher = store.watch(target.rt, target.namespace, labels, fields, _since(request))
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                async with asyncio.timeout(remaining):
                    change = await watcher.queue.get()
            except TimeoutError:
                break
            if change is None:
                break
            obj = change.obj
            if table:
                obj = as_table(target.rt, [obj], str(change.resource_version), store.clock(), "Object")
            line = json.dumps({"type": change.type, "object": obj}) + "\n"
            await response.write(line.encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        store.unwatch(watcher)
    with contextlib.suppress(ConnectionResetError):
        await response.write_eof()
    return response
