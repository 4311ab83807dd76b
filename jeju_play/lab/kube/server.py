"""The HTTP face of the API double: one aiohttp app, `start_server` and `write_kubeconfig`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from aiohttp import web

from jeju_play.lab.kube import discovery, openapi
from jeju_play.lab.kube.api_errors import ApiError, method_not_allowed, path_not_found
from jeju_play.lab.kube.cluster import Cluster
from jeju_play.lab.kube.metrics_api import metrics
from jeju_play.lab.kube.objects_api import ObjectsApi, json_response
from jeju_play.lab.kube.pod_io import pod_exec, pod_log
from jeju_play.lab.kube.routing import Target, parse_target
from jeju_play.lab.kube.watch_api import is_watch, watch

LOG = logging.getLogger(__name__)
LAB_TOKEN = "jeju-lab-token"  # noqa: S105 - a fixed, public token: the lab API only listens on loopback
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class KubeApp:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.objects = ObjectsApi(cluster)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except ApiError as err:
            return json_response(err.status(), err.code)
        except Exception as err:
            LOG.exception("lab API failed on %s %s", request.method, request.path)
            body = ApiError(500, "InternalError", f"the lab API double failed: {err!r}").status()
            return json_response(body, 500)

    def _discovery(self, request: web.Request) -> web.Response | None:
        path = request.path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        document = None
        if path == "/version":
            document = discovery.VERSION_INFO
        elif path == "/api":
            document = discovery.api_versions(f"{request.host}")
        elif path == "/apis":
            document = discovery.api_group_list()
        elif path in ("/healthz", "/readyz", "/livez"):
            return web.Response(text="ok")
        elif path == "/openapi/v3":
            document = openapi.index()
        elif path.startswith("/openapi/v3/"):
            document = openapi.group_version_spec(path.removeprefix("/openapi/v3/"))
        elif len(parts) == 2 and parts[0] == "api":
            document = discovery.api_resource_list(parts[1])
        elif len(parts) == 2 and parts[0] == "apis":
            document = discovery.api_group(parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            document = discovery.api_resource_list(f"{parts[1]}/{parts[2]}")
        else:
            return None
        if document is None:
            raise path_not_found(request.path)
        return json_response(document)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.method == "GET":
            found = self._discovery(request)
            if found is not None:
                return found
        target = parse_target(request.path)
        if target is None:
            raise path_not_found(request.path)
        if target.rt.virtual:
            if request.method != "GET":
                raise method_not_allowed()
            return json_response(metrics(self.cluster, target, request.query.get("labelSelector")))
        return await self._resource(request, target)

    async def _resource(self, request: web.Request, target: Target) -> web.StreamResponse:
        if target.name is None:
            if request.method == "GET" and is_watch(request):
                return await watch(request, self.cluster.store, target)
            return await self.objects.collection(request, target)
        if target.subresource is None:
            return await self.objects.item(request, target)
        if target.subresource not in target.rt.subresources:
            raise path_not_found(request.path)
        if target.subresource == "status":
            return await self.objects.status(request, target)
        if target.subresource == "scale":
            return await self.objects.scale(request, target)
        if target.subresource == "log":
            return await pod_log(request, self.cluster, target)
        return await pod_exec(request, self.cluster, target)


@dataclass
class KubeServer:
    """A running API double. `url` goes into a kubeconfig; `stop()` closes watches and the listener."""

    cluster: Cluster
    runner: web.AppRunner
    port: int
    host: str

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        await self.cluster.stop()
        await self.runner.cleanup()


async def start_server(cluster: Cluster, host: str = "127.0.0.1", port: int = 0) -> KubeServer:
    """Serve `cluster` on host:port (port 0: a free one) and start its controller."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", KubeApp(cluster).handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = int(runner.addresses[0][1])
    cluster.start()
    return KubeServer(cluster, runner, bound_port, host)


def write_kubeconfig(path: str | Path, server_url: str, context: str = "jeju-lab", namespace: str = "op-stack") -> Path:
    """A kubeconfig for the lab: plain http, a fixed public token, `context` as current-context."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server_url}}],
        "users": [{"name": f"{context}-user", "user": {"token": LAB_TOKEN}}],
        "contexts": [
            {"name": context, "context": {"cluster": context, "user": f"{context}-user", "namespace": namespace}}
        ],
        "current-context": context,
        "preferences": {},
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    return target
