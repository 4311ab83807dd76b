"""Pod logs (plain text) and exec over a websocket with the channel.k8s.io protocol (v4/v5).

Exec frames: the first byte of each binary message is the channel (1 stdout, 2 stderr, 3 error/status);
channel 3 carries a `Status` (Success, or Failure with reason NonZeroExitCode and the code in
details.causes[0].message), which is how kubectl and the Python client learn the exit code.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from aiohttp import web

from jeju_lab.kube_double.api_errors import ApiError, bad_request
from jeju_lab.kube_double.cluster import Cluster
from jeju_lab.kube_double.hooks import ExecResult
from jeju_lab.kube_double.resources import POD
from jeju_lab.kube_double.routing import Target

Obj = dict[str, Any]
CHANNEL_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io")
STDOUT, STDERR, STATUS = 1, 2, 3


def _container(pod: Obj, wanted: str | None) -> str:
    names = [c["name"] for c in pod["spec"].get("containers") or []]
    if wanted and wanted not in names:
        raise bad_request(f"container {wanted} is not valid for pod {pod['metadata']['name']}")
    return wanted or names[0]


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true")


async def pod_log(request: web.Request, cluster: Cluster, target: Target) -> web.Response:
    pod = cluster.store.get(POD, target.namespace, target.name or "")
    container = _container(pod, request.query.get("container"))
    tail = request.query.get("tailLines")
    since = request.query.get("sinceSeconds")
    text = cluster.read_log(
        target.namespace or "",
        target.name or "",
        container,
        previous=_flag(request, "previous"),
        tail_lines=int(tail) if tail else None,
        timestamps=_flag(request, "timestamps"),
        since_seconds=float(since) if since else None,
    )
    return web.Response(text=text, content_type="text/plain")


def exit_status(code: int, argv: list[str]) -> Obj:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command {argv}, exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def _as_bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


async def _run_exec(cluster: Cluster, namespace: str, pod: str, container: str, argv: list[str]) -> ExecResult:
    result = cluster.exec_handler(namespace, pod, container, argv)
    if inspect.isawaitable(result):
        result = await result
    return result


async def pod_exec(request: web.Request, cluster: Cluster, target: Target) -> web.StreamResponse:
    pod = cluster.store.get(POD, target.namespace, target.name or "")
    if (pod.get("status") or {}).get("phase") != "Running":
        message = f"unable to upgrade connection: pod {pod['metadata']['name']} is not running"
        raise ApiError(400, "BadRequest", message)
    container = _container(pod, request.query.get("container"))
    argv = request.query.getall("command", [])
    socket = web.WebSocketResponse(protocols=CHANNEL_PROTOCOLS, timeout=1.0)
    if not socket.can_prepare(request).ok:
        raise ApiError(400, "BadRequest", "Upgrade request required: exec in the lab speaks websocket only")
    await socket.prepare(request)
    code, out, err = await _run_exec(cluster, target.namespace or "", target.name or "", container, argv)
    if out:
        await socket.send_bytes(bytes([STDOUT]) + _as_bytes(out))
    if err:
        await socket.send_bytes(bytes([STDERR]) + _as_bytes(err))
    await socket.send_bytes(bytes([STATUS]) + json.dumps(exit_status(code, argv)).encode())
    await socket.close()
    return socket
