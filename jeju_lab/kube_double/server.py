"""The HTTP face of the API double: one aiohttp app over TLS, `start_server` and `write_kubeconfig`."""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from aiohttp import web

from jeju_lab.kube_double import auth, discovery, openapi
from jeju_lab.kube_double.api_errors import ApiError, forbidden, method_not_allowed, path_not_found
from jeju_lab.kube_double.auth import LAB_TOKEN
from jeju_lab.kube_double.cluster import Cluster
from jeju_lab.kube_double.metrics_api import metrics
from jeju_lab.kube_double.objects_api import ObjectsApi, json_response, read_body
from jeju_lab.kube_double.pod_io import pod_exec, pod_log
from jeju_lab.kube_double.resources import ACCESS_REVIEW
from jeju_lab.kube_double.routing import Target, parse_target
from jeju_lab.kube_double.tls import issue_client, lab_certificate
from jeju_lab.kube_double.watch_api import is_watch, watch

LOG = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class KubeApp:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.objects = ObjectsApi(cluster)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.cluster.requests_served[request.method] += 1
        return await self.cluster.api_faults.serve(request, self._answer)

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except ApiError as err:
            return json_response(err.status(), err.code)
        except Exception as err:
            LOG.exception("lab API failed on %s %s", request.method, request.path)
            body = ApiError(500, "InternalError", f"the lab API double failed: {err!r}").status()
            return json_response(body, 500)

    def _user(self, request: web.Request) -> auth.User:
        store = self.cluster.store
        peer = request.transport.get_extra_info("peercert") if request.transport is not None else None
        user = auth.authenticate(self.cluster.tokens, store, request.headers.get("Authorization"), peer)
        return auth.impersonate(store, user, request.headers)

    def _discovery(self, request: web.Request) -> web.Response | None:
        path = request.path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        registry = self.cluster.store.registry
        document = None
        if path == "/version":
            document = discovery.VERSION_INFO
        elif path == "/api":
            document = discovery.api_versions(f"{request.host}")
        elif path == "/apis":
            document = discovery.api_group_list(registry)
        elif path in ("/healthz", "/readyz", "/livez"):
            return web.Response(text="ok")
        elif path == "/openapi/v3":
            document = openapi.index(registry)
        elif path.startswith("/openapi/v3/"):
            document = openapi.group_version_spec(registry, path.removeprefix("/openapi/v3/"))
        elif len(parts) == 2 and parts[0] == "api":
            document = discovery.api_resource_list(registry, parts[1])
        elif len(parts) == 2 and parts[0] == "apis":
            document = discovery.api_group(registry, parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            document = discovery.api_resource_list(registry, f"{parts[1]}/{parts[2]}")
        else:
            return None
        if document is None:
            raise path_not_found(request.path)
        return json_response(document)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        user = self._user(request)
        if request.method == "GET":
            if user is auth.ANONYMOUS and (request.path.rstrip("/") or "/") not in auth.PUBLIC_PATHS:
                raise forbidden(f'forbidden: User "system:anonymous" cannot get path "{request.path}"')
            found = self._discovery(request)
            if found is not None:
                return found
        target = parse_target(request.path, self.cluster.store.registry)
        if target is None:
            raise path_not_found(request.path)
        auth.authorize(self.cluster.store, user, auth.request_for(
            target.rt, request.method, target.namespace, target.name, target.subresource, is_watch(request)))
        if target.rt is ACCESS_REVIEW:
            if request.method != "POST":
                raise method_not_allowed()
            review = await read_body(request)
            return json_response(auth.access_review(self.cluster.store, user, review or {}), 201)
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
        if target.subresource in ("status", "finalize"):
            return await self.objects.status(request, target)
        if target.subresource == "scale":
            return await self.objects.scale(request, target)
        if target.subresource == "eviction":
            return await self.objects.eviction(request, target)
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
    tls: bool = True

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    async def stop(self) -> None:
        await self.cluster.stop()
        await self.runner.cleanup()


async def start_server(cluster: Cluster, host: str = "127.0.0.1", port: int = 0, *, tls: bool = True) -> KubeServer:
    """Serve `cluster` on host:port (port 0: a free one), over TLS with the lab's certificate unless tls=False,
    and start its controller."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", KubeApp(cluster).handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    context = lab_certificate().server_context() if tls else None
    site = web.TCPSite(runner, host, port, ssl_context=context)
    await site.start()
    bound_port = int(runner.addresses[0][1])
    cluster.start()
    return KubeServer(cluster, runner, bound_port, host, tls)


def kubeconfig_document(server_url: str, context: str = "jeju-lab", namespace: str = "op-stack", *,
                        token: str | None = LAB_TOKEN, ca_pem: bytes | None = None,
                        client_certificate: bool = False) -> dict[str, object]:
    """A kubeconfig as a dict: the server, its CA (the lab's for https URLs unless ca_pem says otherwise), a
    bearer token and/or (client_certificate) a client certificate for the lab's admin, `context` current."""
    b64 = base64.b64encode
    cluster: dict[str, str] = {"server": server_url}
    if server_url.startswith("https://"):
        ca = ca_pem if ca_pem is not None else lab_certificate().ca.cert_pem
        cluster["certificate-authority-data"] = b64(ca).decode()
    user: dict[str, str] = {"token": token} if token else {}
    if client_certificate:
        cert, key = issue_client(lab_certificate().ca, auth.ADMIN.name, ("system:masters",))
        user.update({"client-certificate-data": b64(cert).decode(), "client-key-data": b64(key).decode()})
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": f"{context}-user", "user": user}],
        "contexts": [
            {"name": context, "context": {"cluster": context, "user": f"{context}-user", "namespace": namespace}}
        ],
        "current-context": context,
        "preferences": {},
    }


def write_kubeconfig(path: str | Path, server_url: str, context: str = "jeju-lab", namespace: str = "op-stack", *,
                     token: str | None = LAB_TOKEN, ca_pem: bytes | None = None,
                     client_certificate: bool = False) -> Path:
    """A kubeconfig for the lab (see kubeconfig_document), written with mode 0600."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    document = kubeconfig_document(server_url, context, namespace, token=token, ca_pem=ca_pem,
                                   client_certificate=client_certificate)
    target.write_text(yaml.safe_dump(document, sort_keys=False))
    target.chmod(0o600)
    return target


__all__ = ["LAB_TOKEN", "KubeServer", "kubeconfig_document", "start_server", "write_kubeconfig"]
